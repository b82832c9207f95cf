package dev.netrun.exec;

/**
 * The arguments of a job do not fit its function: wrong number, wrong types, a missing or unknown keyword
 * argument. Thrown inside the worker; the job fails with a {@link JobFailedException} carrying it.
 */
public class ArgumentMismatchException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /** @param message what does not fit */
    public ArgumentMismatchException(String message) {
        super(message);
    }
}
