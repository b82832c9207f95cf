package dev.netrun.cli;

import dev.netrun.pool.WorkerFunction;
import dev.netrun.rpc.Channel;
import dev.netrun.rpc.Message;

/** Answers every message with {@code ("echo", data)}: offered by {@code netrun serve --worker echo=...} in tests. */
public final class EchoWorker implements WorkerFunction {
    public EchoWorker() {
    }

    @Override
    public void run(Channel channel, int workerId) {
        while (true) {
            Message m = channel.recv();
            channel.send("echo", m.data());
        }
    }
}
