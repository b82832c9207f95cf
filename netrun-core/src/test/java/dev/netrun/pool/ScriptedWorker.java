package dev.netrun.pool;

import dev.netrun.rpc.Channel;
import dev.netrun.rpc.ChannelClosedException;
import dev.netrun.rpc.Message;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

/**
 * The worker function of the pool contract tests, driven entirely by message keys so that one function
 * covers every behaviour and a pool kind that must build its worker from a class (a public no-arg
 * constructor) can run it too.
 *
 * <ul>
 *   <li>{@code echo}: answers {@code ("echo", data)};</li>
 *   <li>{@code whoami}: answers {@code ("id", workerId)};</li>
 *   <li>{@code throw}: sends {@code ("echo", item)} for each item of the list in {@code data}, then throws a
 *       {@link Boom} whose message is {@code "boom from worker <id>"};</li>
 *   <li>{@code return}: returns from the function while the pool is running (a worker that "dies");</li>
 *   <li>{@code spin}: answers {@code ("spinning", workerId)}, then ignores its channel, closing included,
 *       busy-looping until its thread is interrupted;</li>
 *   <li>{@code park}: answers {@code ("parked", workerId)}, then ignores its channel and waits on a latch
 *       nobody counts down, until its thread is interrupted;</li>
 *   <li>anything else: answers {@code ("unknown", key)}.</li>
 * </ul>
 *
 * <p>What the workers of this JVM threw and which threads ran them are recorded per worker id, so tests can
 * check identity ({@code assertSame}) and thread liveness.
 */
public final class ScriptedWorker implements WorkerFunction {

    /** What a scripted worker throws on {@code throw}. */
    public static final class Boom extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Boom(String message) {
            super(message);
        }
    }

    /** The last exception each worker threw, by worker id. */
    public final Map<Integer, Throwable> thrown = new ConcurrentHashMap<>();
    /** The thread that last ran each worker, by worker id. */
    public final Map<Integer, Thread> threads = new ConcurrentHashMap<>();

    /** Needed by pool kinds that build their worker from its class. */
    public ScriptedWorker() {
    }

    @Override
    public void run(Channel channel, int workerId) throws Exception {
        threads.put(workerId, Thread.currentThread());
        while (true) {
            Message m = channel.recv();
            switch (m.key()) {
                case "echo" -> channel.send("echo", m.data());
                case "whoami" -> channel.send("id", workerId);
                case "throw" -> {
                    for (Object item : (List<?>) m.data()) {
                        channel.send("echo", item);
                    }
                    Boom boom = new Boom("boom from worker " + workerId);
                    thrown.put(workerId, boom);
                    throw boom;
                }
                case "return" -> {
                    return;
                }
                case "spin" -> {
                    channel.send("spinning", workerId);
                    while (!Thread.currentThread().isInterrupted()) {
                        try {
                            channel.tryRecv();
                        } catch (ChannelClosedException ignored) {
                            // deliberately deaf to the pool closing
                        }
                        Thread.onSpinWait();
                    }
                    return;
                }
                case "park" -> {
                    channel.send("parked", workerId);
                    new CountDownLatch(1).await(); // only an interrupt gets out of here
                }
                default -> channel.send("unknown", m.key());
            }
        }
    }
}
