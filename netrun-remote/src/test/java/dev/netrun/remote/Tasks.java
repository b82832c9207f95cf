package dev.netrun.remote;

import java.io.InputStream;
import java.net.Socket;
import java.util.concurrent.CountDownLatch;

/** Static functions that remote jobs call by import path ({@code "dev.netrun.remote.Tasks.add"}). */
public final class Tasks {
    private Tasks() {
    }

    public static int add(int a, int b) {
        return a + b;
    }

    public static String hello(String name) {
        return "hello " + name;
    }

    /** Prints a line, then waits until the test writes a byte to {@code port} on loopback, then prints another. */
    public static String printWaitPrint(int port) throws Exception {
        System.out.println("first");
        try (Socket s = new Socket("127.0.0.1", port); InputStream in = s.getInputStream()) {
            if (in.read() < 0) {
                throw new IllegalStateException("the test closed the socket");
            }
        }
        System.out.println("second");
        return "done";
    }

    /** Never returns on its own: for jobs that must still be running when their server dies. */
    public static String block() throws InterruptedException {
        new CountDownLatch(1).await();
        return "unreachable";
    }

    /** Writes a line to the process's standard error (not captured per job: it goes to the process output). */
    public static String toStderr(String text) {
        System.err.println(text);
        System.err.flush();
        return "written";
    }
}
