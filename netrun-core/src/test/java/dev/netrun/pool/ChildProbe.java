package dev.netrun.pool;

import dev.netrun.rpc.Channel;
import dev.netrun.rpc.Message;

/**
 * The worker function of the process-specific tests: it does, inside a child JVM, what the message key says,
 * and answers so the test knows it is done. Built in each child from its public no-arg constructor.
 *
 * <ul>
 *   <li>{@code echo}: answers {@code ("echo", data)};</li>
 *   <li>{@code pid}: answers {@code ("pid", pid of this process)};</li>
 *   <li>{@code out} / {@code err}: prints {@code data} with {@code println} to {@code System.out} /
 *       {@code System.err}, then answers {@code ("printed", data)};</li>
 *   <li>{@code outPartial}: prints {@code data} to {@code System.out} without a line end, flushes, then
 *       answers {@code ("printed", data)};</li>
 *   <li>{@code exit}: calls {@code System.exit(data)};</li>
 *   <li>{@code bytes}: answers {@code ("bytes", new byte[data])}, an array of {@code data} bytes;</li>
 *   <li>{@code new}: answers {@code ("new", instance)} with a new instance of the class named by {@code data}
 *       (a class that only the child can load, say);</li>
 *   <li>{@code deaf}: makes this JVM impossible to leave politely (a shutdown hook that never ends), answers
 *       {@code ("deaf", workerId)}, then busy-loops, ignoring its channel, closing included;</li>
 *   <li>anything else: answers {@code ("unknown", key)}.</li>
 * </ul>
 */
public final class ChildProbe implements WorkerFunction {

    /** Needed: the child builds its worker from this class. */
    public ChildProbe() {
    }

    @Override
    public void run(Channel channel, int workerId) throws Exception {
        while (true) {
            Message m = channel.recv();
            switch (m.key()) {
                case "echo" -> channel.send("echo", m.data());
                case "pid" -> channel.send("pid", ProcessHandle.current().pid());
                case "out" -> {
                    System.out.println(m.data());
                    channel.send("printed", m.data());
                }
                case "err" -> {
                    System.err.println(m.data());
                    channel.send("printed", m.data());
                }
                case "outPartial" -> {
                    System.out.print(m.data());
                    System.out.flush();
                    channel.send("printed", m.data());
                }
                case "exit" -> System.exit((Integer) m.data());
                case "bytes" -> channel.send("bytes", new byte[(Integer) m.data()]);
                case "new" -> channel.send("new",
                        Class.forName((String) m.data()).getConstructor().newInstance());
                case "deaf" -> {
                    Thread hook = new Thread(() -> {
                        while (true) {
                            Thread.onSpinWait();
                        }
                    });
                    Runtime.getRuntime().addShutdownHook(hook);
                    channel.send("deaf", workerId);
                    while (true) {
                        try {
                            channel.tryRecv();
                        } catch (RuntimeException ignored) {
                            // deliberately deaf to the pool closing
                        }
                        Thread.onSpinWait();
                    }
                }
                default -> channel.send("unknown", m.key());
            }
        }
    }
}
