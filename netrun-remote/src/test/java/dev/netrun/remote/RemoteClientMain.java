package dev.netrun.remote;

import java.time.Duration;

/**
 * A client in its own JVM, for the test of a client that vanishes: {@code RemoteClientMain ADDRESS N} creates a
 * pool of {@code N} processes of {@code "scripted"} workers on the server at {@code ADDRESS}, checks that worker
 * 0 answers, prints {@code ready}, then waits until it is killed.
 */
public final class RemoteClientMain {
    private RemoteClientMain() {
    }

    public static void main(String[] args) throws Exception {
        RemotePoolClient client = new RemotePoolClient(args[0]);
        client.createPool("scripted", Integer.parseInt(args[1]), 1);
        client.send(0, "whoami", null);
        client.recv(Duration.ofSeconds(30));
        System.out.println("ready");
        System.out.flush();
        while (System.in.read() >= 0) {
            // wait to be killed
        }
    }
}
