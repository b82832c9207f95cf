package dev.netrun.pool;

import dev.netrun.rpc.Channel;

/**
 * The code a pool runs in each of its workers. It typically loops on {@code channel.recv()} and answers
 * with {@code channel.send(...)} until the channel closes, which is how a pool asks its workers to stop:
 *
 * <pre>{@code
 * WorkerFunction echo = (channel, workerId) -> {
 *     while (true) {
 *         Message m = channel.recv();          // throws ChannelClosedException when the pool closes
 *         channel.send("echo", m.data());
 *     }
 * };
 * }</pre>
 *
 * <p>Letting {@link dev.netrun.rpc.ChannelClosedException} escape once the pool is closing is the normal
 * way out. Returning or throwing while the pool is running is reported to the pool's receiver: a throw as
 * {@link WorkerException}, a return as {@link WorkerCrashedException}.
 *
 * <p>For pools that run workers in child JVMs, the implementing class must have a public no-arg
 * constructor so the child can build it.
 */
@FunctionalInterface
public interface WorkerFunction {
    /**
     * Runs one worker until its channel closes.
     *
     * @param channel  this worker's end of the channel to the pool
     * @param workerId this worker's id, from 0 to {@code numWorkers() - 1}
     * @throws Exception anything; reported as a {@link WorkerException} when the pool is running
     */
    void run(Channel channel, int workerId) throws Exception;
}
