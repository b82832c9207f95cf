package dev.netrun.remote;

/**
 * A server in its own JVM, for tests that kill it: {@code RemoteServerMain} starts a server on a free
 * loopback port with {@link ScriptedWorker} registered as {@code "scripted"}, prints
 * {@code listening on 127.0.0.1:PORT}, and serves until its standard input ends or it is killed.
 */
public final class RemoteServerMain {
    private RemoteServerMain() {
    }

    public static void main(String[] args) throws Exception {
        RemotePoolServer server = new RemotePoolServer("127.0.0.1", 0);
        server.registerWorker("scripted", ScriptedWorker.class);
        server.start();
        System.out.println("listening on " + server.address());
        System.out.flush();
        while (System.in.read() >= 0) {
            // serve until the test closes our stdin (or kills us)
        }
        server.close();
    }
}
