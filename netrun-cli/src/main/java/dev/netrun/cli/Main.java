package dev.netrun.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code netrun} command line: {@code netrun demo}, {@code netrun bench}, {@code netrun serve}.
 *
 * <p>Run from a build with {@code java -jar netrun-cli/target/netrun.jar <command>}.
 */
@Command(name = "netrun", mixinStandardHelpOptions = true, version = "netrun 0.1.0-SNAPSHOT",
        description = "Run functions inside pools of workers and get rich job results back.",
        subcommands = {DemoCommand.class, BenchCommand.class, ServeCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /**
     * Runs the command line and exits with its status.
     *
     * @param args the command line arguments
     */
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Runs the command line without exiting.
     *
     * @param args the command line arguments
     * @return the exit status
     */
    public static int run(String... args) {
        return new CommandLine(new Main()).execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
