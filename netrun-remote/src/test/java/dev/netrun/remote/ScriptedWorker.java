package dev.netrun.remote;

import dev.netrun.pool.WorkerFunction;
import dev.netrun.rpc.Channel;
import dev.netrun.rpc.Message;

import java.util.concurrent.CountDownLatch;

/**
 * The worker of the remote pool tests (a small copy of netrun-core's test worker, plus output and exit),
 * driven by message keys; it runs in the server's child JVMs, so it is built from its class:
 *
 * <ul>
 *   <li>{@code echo}: answers {@code ("echo", data)};</li>
 *   <li>{@code whoami}: answers {@code ("id", workerId)};</li>
 *   <li>{@code big}: answers {@code ("big", s)} where {@code s} is a string of {@code data} characters;</li>
 *   <li>{@code out} / {@code err}: prints {@code data} as a line to standard output / error, then answers
 *       {@code ("printed", workerId)};</li>
 *   <li>{@code throw}: throws an {@link IllegalStateException} {@code "boom from worker <id>"};</li>
 *   <li>{@code exit}: ends its JVM with exit code {@code data};</li>
 *   <li>{@code park}: answers {@code ("parked", workerId)} and waits until its thread is interrupted;</li>
 *   <li>anything else: answers {@code ("unknown", key)}.</li>
 * </ul>
 */
public final class ScriptedWorker implements WorkerFunction {

    /** Needed: the child JVM builds the worker from its class. */
    public ScriptedWorker() {
    }

    @Override
    public void run(Channel channel, int workerId) throws Exception {
        while (true) {
            Message m = channel.recv();
            switch (m.key()) {
                case "echo" -> channel.send("echo", m.data());
                case "whoami" -> channel.send("id", workerId);
                case "big" -> channel.send("big", "z".repeat((Integer) m.data()));
                case "out" -> {
                    System.out.println(m.data());
                    System.out.flush();
                    channel.send("printed", workerId);
                }
                case "err" -> {
                    System.err.println(m.data());
                    System.err.flush();
                    channel.send("printed", workerId);
                }
                case "throw" -> throw new IllegalStateException("boom from worker " + workerId);
                case "exit" -> System.exit((Integer) m.data());
                case "park" -> {
                    channel.send("parked", workerId);
                    new CountDownLatch(1).await();
                }
                default -> channel.send("unknown", m.key());
            }
        }
    }
}
