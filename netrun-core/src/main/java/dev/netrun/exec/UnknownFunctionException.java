package dev.netrun.exec;

/**
 * A job named a function that its worker does not know: no function was sent under that key, and no class
 * or static method has that name. The job fails with a {@link JobFailedException} carrying it.
 */
public class UnknownFunctionException extends ArgumentMismatchException {
    private static final long serialVersionUID = 1L;

    /** @param name the unknown key or import path */
    public UnknownFunctionException(String name) {
        super("Unknown function '" + name + "': no function was sent under that key, and no class or public "
                + "static method has that name");
    }
}
