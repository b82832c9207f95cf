package dev.netrun.remote;

import dev.netrun.exec.ExecutionManager;
import dev.netrun.exec.Job;
import dev.netrun.pool.PoolException;
import dev.netrun.pool.WorkerMessage;
import dev.netrun.rpc.CodecException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * Security of the remote layer: the shared token, TLS with a certificate made at test time, the decoding
 * allow-list and the maximum message size. One server with a token and TLS, one plain server with a small
 * message limit and an extra allowed class.
 */
@Tag("slow")
class RemoteSecurityTest {
    static final Duration WAIT = Duration.ofSeconds(30);
    static final String TOKEN = "s3cret-token";

    @TempDir
    static Path dir;
    static TestCerts certs;
    static RemotePoolServer tokenTls;
    static RemotePoolServer limited;

    @BeforeAll
    static void startServers() throws Exception {
        certs = TestCerts.generate(dir, "server");
        tokenTls = new RemotePoolServer("127.0.0.1", 0, RemotePoolServer.Options.defaults()
                .withToken(TOKEN).withTls(certs.certificate, certs.privateKey));
        tokenTls.registerWorker("scripted", ScriptedWorker.class);
        tokenTls.start();
        limited = new RemotePoolServer("127.0.0.1", 0, RemotePoolServer.Options.defaults()
                .withMaxMessageSize(128 << 10).withAllowedClasses(Admitted.class.getName()));
        limited.registerWorker("scripted", ScriptedWorker.class);
        limited.start();
    }

    @AfterAll
    static void closeServers() {
        tokenTls.close();
        limited.close();
    }

    RemotePoolClient.Options tls() {
        return RemotePoolClient.Options.defaults().withTrustedCertificate(certs.certificate);
    }

    @Test
    void aClientWithoutTheTokenIsRefusedWithAnAuthenticationErrorAndNothingRuns() {
        try (RemotePoolClient c = new RemotePoolClient(tokenTls.address(), tls())) {
            assertThatThrownBy(c::connect).isInstanceOf(PoolException.class)
                    .hasMessageContaining("Authentication failed").hasMessageContaining(tokenTls.address())
                    .hasMessageContaining("no token");
            assertThatThrownBy(() -> c.createPool("scripted", 1, 1)).isInstanceOf(PoolException.class)
                    .hasMessageContaining("Authentication failed");
            assertThat(c.isRunning()).isFalse();
        }
        assertThat(tokenTls.livePools()).isZero();
        assertThat(tokenTls.childPids()).isEmpty();
    }

    @Test
    void aClientWithAWrongTokenIsRefused() {
        try (RemotePoolClient c = new RemotePoolClient(tokenTls.address(), tls().withToken("wrong"))) {
            assertThatThrownBy(() -> c.createPool("scripted", 1, 1)).isInstanceOf(PoolException.class)
                    .hasMessageContaining("Authentication failed").hasMessageContaining("token is wrong");
        }
        assertThat(tokenTls.livePools()).isZero();
    }

    @Test
    void aManagerWithAWrongTokenFailsToStartWithTheAuthenticationError() {
        try (ExecutionManager m = new ExecutionManager(Map.of("remote",
                RemotePoolConfig.of(tokenTls.address()).withTrustedCertificate(certs.certificate).withToken("nope")))) {
            assertThatThrownBy(m::start).isInstanceOf(PoolException.class).hasMessageContaining("Authentication failed");
        }
        assertThat(tokenTls.livePools()).isZero();
    }

    @Test
    void theRightTokenOverTlsWithAGeneratedCertificateRunsJobs() {
        try (RemotePoolClient c = new RemotePoolClient(tokenTls.address(), tls().withToken(TOKEN))) {
            c.createPool("scripted", 1, 1);
            c.send(0, "echo", "over tls");
            assertThat(c.recv(WAIT)).isEqualTo(new WorkerMessage(0, "echo", "over tls"));
        }
        try (ExecutionManager m = new ExecutionManager(Map.of("remote", RemotePoolConfig.of(tokenTls.address())
                .withTrustedCertificate(certs.certificate).withToken(TOKEN)))) {
            m.start();
            assertThat(m.run("remote", 0, Job.of("dev.netrun.remote.Tasks.add").args(20, 22)).result()).isEqualTo(42);
        }
    }

    @Test
    void aPlainTextClientCannotTalkToATlsServer() {
        try (RemotePoolClient c = new RemotePoolClient(tokenTls.address(),
                RemotePoolClient.Options.defaults().withToken(TOKEN))) {
            assertTimeoutPreemptively(Duration.ofSeconds(15), () ->
                    assertThatThrownBy(c::connect).isInstanceOf(PoolException.class)
                            .hasMessageContaining(tokenTls.address()));
        }
    }

    @Test
    void aTlsClientRefusesAServerWhoseCertificateItDoesNotTrust() throws Exception {
        TestCerts other = TestCerts.generate(dir, "other");
        try (RemotePoolClient c = new RemotePoolClient(tokenTls.address(), RemotePoolClient.Options.defaults()
                .withToken(TOKEN).withTrustedCertificate(other.certificate))) {
            assertTimeoutPreemptively(Duration.ofSeconds(15), () ->
                    assertThatThrownBy(c::connect).isInstanceOf(PoolException.class)
                            .hasMessageContaining("Cannot connect").hasMessageContaining("TLS"));
        }
        assertThat(tokenTls.livePools()).isZero();
    }

    /** Not admitted by any server's allow-list. */
    record Smuggled(String payload) implements Serializable {
    }

    /** Admitted by {@link #limited}'s extra allowed class. */
    public record Admitted(String payload) implements Serializable {
    }

    @Test
    void theServerDecodesOnlyAllowedClasses() {
        try (RemotePoolClient c = new RemotePoolClient(limited.address())) {
            c.createPool("scripted", 1, 1);
            c.send(0, "echo", new Smuggled("x"));
            WorkerMessage refused = c.recv(WAIT);
            assertThat(refused.key()).isEqualTo("echo");
            assertThat(refused.data()).isInstanceOf(CodecException.class);
            assertThat(((CodecException) refused.data()).getMessage()).contains(Smuggled.class.getName())
                    .contains("not allowed");
            c.send(0, "echo", new Admitted("y"));
            assertThat(c.recv(WAIT).data()).isEqualTo(new Admitted("y"));
        }
    }

    @Test
    void aMessageAboveTheServersMaximumSizeIsRefusedBySendAndThePoolGoesOn() {
        try (RemotePoolClient c = new RemotePoolClient(limited.address())) {
            c.createPool("scripted", 1, 1);
            assertThatThrownBy(() -> c.send(0, "echo", "x".repeat(200_000))).isInstanceOf(CodecException.class)
                    .hasMessageContaining("maximum message size");
            String fits = "y".repeat(100_000);
            c.send(0, "echo", fits);
            assertThat(c.recv(WAIT).data()).isEqualTo(fits);
        }
    }

    @Test
    void aWorkerMessageAboveTheClientsMaximumSizeArrivesAsACodecExceptionAndThePoolGoesOn() {
        try (RemotePoolClient c = new RemotePoolClient(limited.address(),
                RemotePoolClient.Options.defaults().withMaxMessageSize(64 << 10))) {
            c.createPool("scripted", 1, 1);
            c.send(0, "big", 100_000);
            WorkerMessage tooBig = c.recv(WAIT);
            assertThat(tooBig.key()).isEqualTo("big");
            assertThat(tooBig.data()).isInstanceOf(CodecException.class);
            assertThat(((CodecException) tooBig.data()).getMessage()).contains("maximum message size");
            c.send(0, "big", 1_000);
            assertThat(c.recv(WAIT).data()).isEqualTo("z".repeat(1_000));
        }
    }

    @Test
    void theServerBindsLoopbackUnlessToldOtherwise() {
        RemotePoolServer s = new RemotePoolServer(0);
        assertThat(s.host()).isEqualTo("127.0.0.1");
        assertThat(RemotePoolServer.DEFAULT_HOST).isEqualTo("127.0.0.1");
    }
}
