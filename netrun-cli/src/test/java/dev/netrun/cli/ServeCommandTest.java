package dev.netrun.cli;

import dev.netrun.exec.ExecutionManager;
import dev.netrun.exec.Job;
import dev.netrun.pool.PoolException;
import dev.netrun.pool.WorkerMessage;
import dev.netrun.remote.RemotePoolClient;
import dev.netrun.remote.RemotePoolConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * {@code netrun serve} in a JVM of its own: its one line, its token, an extra worker, and SIGTERM ending it and
 * its children.
 */
class ServeCommandTest {
    private static final String EOF = "\u0000EOF";

    @Test
    @Tag("slow")
    void servePrintsOneLineServesJobsWithItsTokenAndEndsItsChildrenOnSigterm(@TempDir Path dir) throws Exception {
        Path tokenFile = dir.resolve("token");
        Files.writeString(tokenFile, "t0ken\n");
        Process serve = new ProcessBuilder(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "serve", "--port", "0", "--token-file", tokenFile.toString(),
                "--worker", "echo=" + EchoWorker.class.getName()))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            // every stdout line, then EOF, as read by a background thread
            LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader out = new BufferedReader(new InputStreamReader(serve.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String l = out.readLine(); l != null; l = out.readLine()) {
                        lines.add(l);
                    }
                } catch (Exception e) {
                    lines.add("read failed: " + e);
                }
                lines.add(EOF);
            });
            reader.setDaemon(true);
            reader.start();
            String line = lines.poll(60, TimeUnit.SECONDS);
            assertThat(line).matches("listening on 127\\.0\\.0\\.1:[1-9][0-9]*");
            String address = line.substring("listening on ".length());

            try (ExecutionManager wrong = new ExecutionManager(Map.of("remote", RemotePoolConfig.of(address)))) {
                assertThatThrownBy(wrong::start).isInstanceOf(PoolException.class).hasMessageContaining("Authentication");
            }
            try (RemotePoolClient raw = new RemotePoolClient(address,
                    RemotePoolClient.Options.defaults().withToken("t0ken"))) {
                raw.createPool("echo", 1, 1);
                raw.send(0, "ping", "pong");
                assertThat(raw.recv(Duration.ofSeconds(30))).isEqualTo(new WorkerMessage(0, "echo", "pong"));
            }
            List<ProcessHandle> children;
            try (ExecutionManager manager = new ExecutionManager(Map.of("remote",
                    RemotePoolConfig.of(address).withToken("t0ken").withProcesses(2, 1)))) {
                manager.start();
                assertThat(manager.run("remote", 1, Job.of("java.lang.Math.addExact").args(2, 3)).result()).isEqualTo(5);
                children = serve.descendants().toList();
                assertThat(children).hasSize(2);

                serve.destroy(); // SIGTERM
                assertThat(serve.waitFor(30, TimeUnit.SECONDS)).isTrue();
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> children.stream().noneMatch(ProcessHandle::isAlive));
            assertThat(lines.poll(30, TimeUnit.SECONDS)).isEqualTo(EOF); // exactly one line on stdout
        } finally {
            serve.destroyForcibly();
        }
    }

    @Test
    void aTlsCertificateWithoutItsKeyIsAUsageError() {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            assertThat(Main.run("serve", "--port", "0", "--tls-cert", "cert.pem")).isEqualTo(2);
        } finally {
            System.setErr(err);
        }
        assertThat(captured.toString(StandardCharsets.UTF_8)).contains("--tls-cert and --tls-key go together");
    }
}
