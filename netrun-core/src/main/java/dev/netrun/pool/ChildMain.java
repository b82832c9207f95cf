package dev.netrun.pool;

import dev.netrun.rpc.Channel;
import dev.netrun.rpc.ChannelBrokenException;
import dev.netrun.rpc.ChannelClosedException;
import dev.netrun.rpc.Codec;
import dev.netrun.rpc.Handshake;
import dev.netrun.rpc.Message;
import dev.netrun.rpc.RpcException;
import dev.netrun.rpc.StreamChannel;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The entry point of a {@link MultiprocessPool}'s child JVM. Not for direct use.
 *
 * <p>Arguments: the parent's Unix socket path, this child's process index and its number of worker threads;
 * the pool's secret arrives as the first line on standard input. The child connects a control channel and one
 * channel per worker thread at once (their handshakes overlap), receives its worker function, runs the
 * threads, and reports ready. It leaves when the parent closes the control channel, and halts at once when the
 * parent vanishes: the control channel breaks or standard input reaches its end (both happen when the parent
 * dies, even by {@code kill -9}).
 */
public final class ChildMain {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(30);
    /** Exit status when the parent vanished. */
    static final int PARENT_GONE = 3;
    /** Exit status when the child could not start. */
    static final int START_FAILED = 2;

    /** The raw standard streams, for flush markers; kept for the life of the process, never closed. */
    private static final FileOutputStream RAW_OUT = new FileOutputStream(FileDescriptor.out);
    private static final FileOutputStream RAW_ERR = new FileOutputStream(FileDescriptor.err);
    /** Standard input, watched for its end (the parent is gone); closed by {@link #exit}. */
    private static volatile FileChannel parentPipe;
    /** Set by {@link #exit}: the end of standard input no longer means the parent is gone. */
    private static volatile boolean leaving;

    private ChildMain() {
    }

    /**
     * Runs the child.
     *
     * @param args socket path, process index, worker threads
     */
    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[0]);
        int processIdx = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        InputStream stdin = System.in;
        String secretLine = readLine(stdin);
        if (secretLine == null) {
            System.err.println("netrun child " + processIdx + ": no secret on standard input");
            System.exit(START_FAILED);
        }
        byte[] secret = HexFormat.of().parseHex(secretLine.strip());
        watchParent();

        Codec codec = ProcessProtocol.codec(ChildMain.class.getClassLoader() == null
                ? ClassLoader.getSystemClassLoader() : Thread.currentThread().getContextClassLoader());
        // The control connection and every worker's, connected and proven at once: their round trips overlap.
        StreamChannel[] connections = connect(socket, secret, codec, threads + 1, "child-" + processIdx);
        StreamChannel control = connections[0];
        control.send(ProcessProtocol.HELLO, new Object[]{processIdx, ProcessProtocol.CONTROL});
        StreamChannel[] channels = new StreamChannel[threads];
        for (int t = 0; t < threads; t++) {
            channels[t] = connections[t + 1];
            channels[t].send(ProcessProtocol.HELLO, new Object[]{processIdx, t});
        }

        Thread[] workers = new Thread[threads];
        try {
            Message init = control.recv(CONNECT_TIMEOUT);
            Object[] spec = (Object[]) init.data();
            if ((Integer) spec[1] != threads) {
                throw new IllegalStateException("the pool asks for " + spec[1] + " worker threads, the command line for "
                        + threads);
            }
            WorkerFunction fn = build(spec[0], codec);
            for (int t = 0; t < threads; t++) {
                int threadIdx = t;
                int workerId = processIdx * threads + t;
                StreamChannel ch = channels[t];
                workers[t] = new Thread(() -> runWorker(fn, ch, workerId, threadIdx, control),
                        "netrun-child-worker-" + workerId);
            }
        } catch (Throwable t) {
            try {
                control.send(ProcessProtocol.START_FAILED, t.toString());
            } catch (RpcException ignored) {
                // the parent sees the exit status and what this process printed
            }
            t.printStackTrace();
            exit(START_FAILED);
            return;
        }
        for (Thread w : workers) {
            w.start();
        }
        control.send(ProcessProtocol.READY, null);

        while (true) {
            Message m;
            try {
                m = control.recv();
            } catch (ChannelBrokenException e) {
                Runtime.getRuntime().halt(PARENT_GONE);
                return;
            } catch (ChannelClosedException e) {
                break; // the pool is closing
            }
            if (ProcessProtocol.FLUSH.equals(m.key())) {
                flushWithMarker((String) m.data());
            }
        }
        for (StreamChannel c : channels) {
            c.close();
        }
        for (Thread w : workers) {
            w.join(2_000);
        }
        System.out.flush();
        System.err.flush();
        exit(0);
    }

    /**
     * Exits normally. Lets the parent watch out of its read first: at exit the JVM waits about 300 ms for
     * threads blocked in native code, such as a plain read of standard input, which would delay every pool's
     * close by that much.
     */
    private static void exit(int status) {
        leaving = true;
        FileChannel in = parentPipe;
        if (in != null) {
            try {
                in.close(); // wakes the watch's read with AsynchronousCloseException
            } catch (IOException ignored) {
                // exiting anyway
            }
        }
        System.exit(status);
    }

    private static void runWorker(WorkerFunction fn, StreamChannel channel, int workerId, int threadIdx,
                                  Channel control) {
        Object[] report;
        try {
            fn.run(channel, workerId);
            report = new Object[]{threadIdx, null, "worker function returned", null};
        } catch (ChannelClosedException e) {
            if (!channel.isClosed()) {
                return; // the pool closed the channel (its SHUTDOWN arrived): the normal way out
            }
            // this side closed its own channel: the worker is gone while the pool runs
            report = new Object[]{threadIdx, e.getClass().getName(), e.getMessage(), WorkerException.stackTraceOf(e)};
        } catch (Throwable t) {
            report = new Object[]{threadIdx, t.getClass().getName(), t.getMessage(), WorkerException.stackTraceOf(t)};
        }
        try {
            channel.send(ProcessProtocol.WORKER_ENDED, report);
        } catch (RpcException e) {
            try {
                control.send(ProcessProtocol.WORKER_ENDED, report);
            } catch (RpcException ignored) {
                // the parent is gone or closing
            }
        }
    }

    private static WorkerFunction build(Object spec, Codec codec) throws ReflectiveOperationException {
        if (spec instanceof byte[] bytes) {
            return (WorkerFunction) codec.decode(bytes);
        }
        Class<?> c = Class.forName((String) spec, true, Thread.currentThread().getContextClassLoader());
        return (WorkerFunction) c.getConstructor().newInstance();
    }

    /** Opens {@code n} connections to the parent and proves each with the secret; all or none. */
    private static StreamChannel[] connect(Path socket, byte[] secret, Codec codec, int n, String name)
            throws IOException {
        List<SocketChannel> sockets = new ArrayList<>(n);
        try {
            for (int i = 0; i < n; i++) {
                SocketChannel s = SocketChannel.open(StandardProtocolFamily.UNIX);
                sockets.add(s);
                s.connect(UnixDomainSocketAddress.of(socket));
            }
        } catch (IOException e) {
            for (SocketChannel s : sockets) {
                s.close();
            }
            throw e;
        }
        Handshake.connect(sockets, secret, CONNECT_TIMEOUT);
        StreamChannel[] channels = new StreamChannel[n];
        for (int i = 0; i < n; i++) {
            channels[i] = StreamChannel.builder(sockets.get(i), codec)
                    .name(i == 0 ? name + "-control" : name + "-worker-" + (i - 1)).open();
        }
        return channels;
    }

    /**
     * Halts this JVM when standard input ends: the parent is gone. Reads through an interruptible
     * {@link FileChannel} so that {@link #exit} can end the read.
     */
    private static void watchParent() {
        FileChannel in = new FileInputStream(FileDescriptor.in).getChannel();
        parentPipe = in;
        Thread t = new Thread(() -> {
            ByteBuffer b = ByteBuffer.allocate(256);
            try {
                while (in.read(b) >= 0) {
                    b.clear(); // the parent writes nothing more; just wait for the end
                }
            } catch (IOException e) {
                // the same as the end, unless exit() closed the channel
            }
            if (!leaving) {
                Runtime.getRuntime().halt(PARENT_GONE);
            }
        }, "netrun-child-parent-watch");
        t.setDaemon(true);
        t.start();
    }

    /** Flushes this process's streams, then writes the flush marker behind what they held. */
    private static void flushWithMarker(String token) {
        System.out.flush();
        System.err.flush();
        byte[] marker = (OutputCollector.MARKER + token + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            RAW_OUT.write(marker);
            RAW_ERR.write(marker);
        } catch (IOException e) {
            // the parent stopped reading; nothing to flush to
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            sb.append((char) c);
            if (sb.length() > 4096) {
                return null;
            }
        }
        return c < 0 && sb.length() == 0 ? null : sb.toString();
    }
}
