package dev.netrun.cli;

import dev.netrun.pool.PoolException;
import dev.netrun.pool.WorkerFunction;
import dev.netrun.remote.RemotePoolServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.File;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code netrun serve}: hosts remote worker pools over gRPC until it is stopped. Prints exactly one line,
 * {@code listening on HOST:PORT}, once it accepts connections; SIGTERM or SIGINT closes the server and every child
 * JVM it started.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Host remote worker pools for RemotePoolClient / RemotePoolConfig over gRPC.",
                "Prints 'listening on HOST:PORT' once it accepts connections; runs until killed (SIGTERM/SIGINT close"
                        + " every pool and child JVM)."})
final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--host", defaultValue = RemotePoolServer.DEFAULT_HOST,
            description = "Interface to bind (default: ${DEFAULT-VALUE}, loopback only; 0.0.0.0 for every interface)")
    String host;

    @Option(names = "--port", defaultValue = "7070", description = "Port to listen on; 0 picks a free one (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "File holding the shared token that every client must send (surrounding whitespace is ignored)")
    Path tokenFile;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "Server certificate chain (PEM); serve over TLS (needs --tls-key)")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "Private key of the certificate (PKCS#8 PEM, unencrypted)")
    Path tlsKey;

    @Option(names = "--class-path", paramLabel = "CP",
            description = "Added to the class path of the child JVMs that run jobs (your job classes and jars)")
    String classPath;

    @Option(names = "--worker", paramLabel = "NAME=CLASS",
            description = {"Also offer a WorkerFunction class (public, public no-arg constructor, on the class path or"
                    + " --class-path) under NAME, for raw RemotePoolClient pools; repeatable. The ExecutionManager's"
                    + " worker is always offered as '" + RemotePoolServer.EXEC_WORKER + "'."})
    List<String> workers = new ArrayList<>();

    @Option(names = "--max-message-size", paramLabel = "BYTES",
            description = "Largest gRPC message accepted (default: 16777216)")
    Integer maxMessageSize;

    @Override
    public Integer call() throws Exception {
        String token = null;
        if (tokenFile != null) {
            try {
                token = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                throw new ParameterException(spec.commandLine(), "Cannot read --token-file " + tokenFile + ": " + e);
            }
            if (token.isEmpty()) {
                throw new ParameterException(spec.commandLine(), "--token-file " + tokenFile + " is empty");
            }
        }
        if ((tlsCert == null) != (tlsKey == null)) {
            throw new ParameterException(spec.commandLine(), "--tls-cert and --tls-key go together");
        }
        if (port < 0 || port > 65535) {
            throw new ParameterException(spec.commandLine(), "--port must be 0 to 65535, was " + port);
        }
        RemotePoolServer.Options options;
        try {
            options = RemotePoolServer.Options.defaults().withClassPath(classPath).withToken(token);
            if (tlsCert != null) {
                options = options.withTls(tlsCert, tlsKey);
            }
            if (maxMessageSize != null) {
                options = options.withMaxMessageSize(maxMessageSize);
            }
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }

        RemotePoolServer server = new RemotePoolServer(host, port, options);
        for (String w : workers) {
            register(server, w);
        }
        try {
            server.start();
        } catch (PoolException e) {
            System.err.println("netrun serve: " + e.getMessage());
            return 1;
        }
        Thread hook = new Thread(server::close, "netrun-serve-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        System.out.println("listening on " + server.address());
        System.out.flush();
        server.awaitTermination();
        return 0;
    }

    /** Registers {@code NAME=CLASS}, loading the class from this JVM's class path and {@code --class-path}. */
    private void register(RemotePoolServer server, String spec) {
        int eq = spec.indexOf('=');
        if (eq <= 0 || eq == spec.length() - 1) {
            throw new ParameterException(this.spec.commandLine(), "--worker must be NAME=CLASS, was '" + spec + "'");
        }
        String name = spec.substring(0, eq);
        String className = spec.substring(eq + 1);
        try {
            ClassLoader loader = ServeCommand.class.getClassLoader();
            if (classPath != null) {
                List<URL> urls = new ArrayList<>();
                for (String entry : classPath.split(File.pathSeparator)) {
                    if (!entry.isBlank()) {
                        urls.add(Path.of(entry).toAbsolutePath().toUri().toURL());
                    }
                }
                loader = new URLClassLoader(urls.toArray(new URL[0]), loader); // lives as long as the server
            }
            server.registerWorker(name, Class.forName(className, false, loader).asSubclass(WorkerFunction.class));
        } catch (ClassNotFoundException | ClassCastException | IllegalArgumentException | IOException e) {
            throw new ParameterException(this.spec.commandLine(), "--worker " + spec + ": " + e);
        }
    }
}
