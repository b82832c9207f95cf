package dev.netrun.remote;

import dev.netrun.exec.PoolConfig;
import dev.netrun.pool.WorkerFunction;
import dev.netrun.rpc.Channel;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Configs, options and registration: everything that needs no server running and no process. */
class RemoteConfigTest {

    @Test
    void aRemoteConfigDefaultsToOneProcessOfOneWorker() {
        RemotePoolConfig c = RemotePoolConfig.of("127.0.0.1:7070");
        assertThat(c.address()).isEqualTo("127.0.0.1:7070");
        assertThat(c.numWorkers()).isEqualTo(1);
        assertThat(c.numProcesses()).isEqualTo(1);
        assertThat(c.threadsPerProcess()).isEqualTo(1);
        assertThat(c.poolType()).isEqualTo(RemotePoolClient.class);
        assertThat(c.printFlushInterval()).isEqualTo(PoolConfig.DEFAULT_PRINT_FLUSH_INTERVAL);
        assertThat(c.capturePrints()).isTrue();
        assertThat(c.options().hasToken()).isFalse();
        assertThat(c.options().trustedCertificate()).isNull();
    }

    @Test
    void withMethodsReturnNewRemoteConfigsAndLeaveTheOriginalAlone() {
        RemotePoolConfig base = RemotePoolConfig.of("example.org:7070");
        RemotePoolConfig sized = base.withProcesses(2, 3);
        RemotePoolConfig tuned = sized.withPrintFlushInterval(Duration.ofMillis(10)).withCapturePrints(false)
                .withToken("t");
        assertThat(base.numWorkers()).isEqualTo(1);
        assertThat(sized.numWorkers()).isEqualTo(6);
        assertThat(sized.numProcesses()).isEqualTo(2);
        assertThat(tuned.numWorkers()).isEqualTo(6);
        assertThat(tuned.printFlushInterval()).isEqualTo(Duration.ofMillis(10));
        assertThat(tuned.capturePrints()).isFalse();
        assertThat(tuned.options().hasToken()).isTrue();
        assertThat(sized.options().hasToken()).isFalse();
        assertThat(tuned.toString()).contains("example.org:7070").doesNotContain("token=t,");
    }

    @Test
    void badConfigValuesAreRefusedNamingThem() {
        assertThatThrownBy(() -> RemotePoolConfig.of("no-port")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no-port");
        assertThatThrownBy(() -> RemotePoolConfig.of("host:0")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RemotePoolConfig.of(null)).isInstanceOf(NullPointerException.class);
        RemotePoolConfig c = RemotePoolConfig.of("127.0.0.1:7070");
        assertThatThrownBy(() -> c.withProcesses(0, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("numProcesses");
        assertThatThrownBy(() -> c.withProcesses(1, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("threadsPerProcess");
        assertThatThrownBy(() -> c.withToken(" ")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> c.withTrustedCertificate(Path.of("/no/such/cert.pem")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("/no/such/cert.pem");
        assertThatThrownBy(() -> c.withPrintFlushInterval(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void addressesMayBeIpv6InBrackets() {
        assertThat(RemotePoolConfig.of("[::1]:7070").address()).isEqualTo("[::1]:7070");
        assertThat(new RemotePoolClient("[::1]:7070").address()).isEqualTo("[::1]:7070");
    }

    @Test
    void clientOptionsValidateTheirValues() {
        RemotePoolClient.Options o = RemotePoolClient.Options.defaults();
        assertThat(o.connectTimeout()).isEqualTo(RemotePoolClient.Options.DEFAULT_CONNECT_TIMEOUT);
        assertThatThrownBy(() -> o.withConnectTimeout(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> o.withMaxMessageSize(1000)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> o.withToken("with\nnewline")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> o.withAllowedClasses("maxdepth=lots")).isInstanceOf(IllegalArgumentException.class);
        assertThat(o.withAllowedClasses("com.acme.**").allowedClasses()).containsExactly("com.acme.**");
    }

    @Test
    void aNewClientIsStoppedWithTheExecWorkersDefaultShape() {
        RemotePoolClient c = new RemotePoolClient("127.0.0.1:7070");
        assertThat(c.isRunning()).isFalse();
        assertThat(c.isConnected()).isFalse();
        assertThat(c.numWorkers()).isEqualTo(1);
        assertThat(c.numProcesses()).isEqualTo(1);
        assertThat(c.workerName()).isEqualTo(RemotePoolServer.EXEC_WORKER);
        assertThatThrownBy(c::serverWorkers).isInstanceOf(IllegalStateException.class);
        c.close(); // harmless: nothing to free
    }

    @Test
    void aServerRegistersTheExecWorkerByDefaultAndListsWhatIsRegistered() {
        RemotePoolServer server = new RemotePoolServer(0);
        assertThat(server.registeredWorkers()).containsExactly(RemotePoolServer.EXEC_WORKER);
        server.registerWorker("scripted", ScriptedWorker.class);
        assertThat(server.registeredWorkers()).containsExactly(RemotePoolServer.EXEC_WORKER, "scripted");
        assertThatThrownBy(() -> server.registeredWorkers().add("x")).isInstanceOf(UnsupportedOperationException.class);
        assertThat(server.isRunning()).isFalse();
        assertThat(server.port()).isZero();
        assertThat(server.host()).isEqualTo("127.0.0.1");
        server.close();
        server.close(); // idempotent, also when never started
        assertThatThrownBy(server::start).isInstanceOf(IllegalStateException.class);
    }

    /** Cannot be built in a child JVM: no public no-arg constructor. */
    public static final class NeedsArgument implements WorkerFunction {
        public NeedsArgument(String ignored) {
        }

        @Override
        public void run(Channel channel, int workerId) {
        }
    }

    /** Cannot be built in a child JVM: not public. */
    static final class Hidden implements WorkerFunction {
        @Override
        public void run(Channel channel, int workerId) {
        }
    }

    @Test
    void workersThatCannotBeBuiltInAChildAreRefusedAtRegistration() {
        RemotePoolServer server = new RemotePoolServer(0);
        assertThatThrownBy(() -> server.registerWorker("a", NeedsArgument.class))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(NeedsArgument.class.getName());
        assertThatThrownBy(() -> server.registerWorker("b", Hidden.class)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> server.registerWorker(" ", ScriptedWorker.class))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(server.registeredWorkers()).containsExactly(RemotePoolServer.EXEC_WORKER);
    }

    @Test
    void serverOptionsValidateTheirValues() {
        RemotePoolServer.Options o = RemotePoolServer.Options.defaults();
        assertThat(o.requiresToken()).isFalse();
        assertThat(o.maxMessageSize()).isEqualTo(RemotePoolServer.Options.DEFAULT_MAX_MESSAGE_SIZE);
        assertThat(o.withToken("s").requiresToken()).isTrue();
        assertThat(o.withToken("s").toString()).doesNotContain("=s,");
        assertThatThrownBy(() -> o.withToken("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> o.withMaxMessageSize(10)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> o.withMaxProcesses(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> o.withTls(Path.of("/no/cert.pem"), Path.of("/no/key.pem")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("/no/cert.pem");
        assertThatThrownBy(() -> new RemotePoolServer("127.0.0.1", 70000)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RemotePoolServer(" ", 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
