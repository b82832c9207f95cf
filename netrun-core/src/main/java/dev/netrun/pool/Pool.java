package dev.netrun.pool;

import dev.netrun.rpc.RecvTimeoutException;

import java.time.Duration;
import java.util.Optional;

/**
 * A set of workers behind one send/receive interface. Each worker runs a {@link WorkerFunction} with its
 * own channel; {@link #send} talks to one worker, {@link #recv} takes what any worker sent.
 *
 * <p><b>Lifecycle.</b> A pool is created stopped. {@link #start()} starts its workers; {@link #close()}
 * stops them and frees every thread, process and socket the pool made. A closed pool may be started
 * again. Before {@code start()} and after {@code close()}, {@code send}, {@code recv}, {@code tryRecv} and
 * {@code broadcast} throw {@link PoolNotStartedException}.
 *
 * <p><b>Failures.</b> A worker whose function throws is reported by {@code recv} as a
 * {@link WorkerException}; a worker that dies (its function returns early, its process exits) is reported
 * as a {@link WorkerCrashedException}. Either is reported once, after the messages that worker sent before
 * it failed. Sending to a dead worker throws {@code WorkerCrashedException}.
 *
 * <p><b>Thread safety.</b> Every method is safe to call from any thread. Messages one worker sends arrive
 * in the order it sent them.
 */
public interface Pool extends AutoCloseable {

    /** @return the number of workers; worker ids run from 0 to {@code numWorkers() - 1} */
    int numWorkers();

    /** @return whether the pool has been started and not closed since */
    boolean isRunning();

    /**
     * Starts every worker. Returns once they are ready to receive.
     *
     * @throws PoolAlreadyStartedException if the pool is running
     * @throws PoolException               if the workers could not be started; nothing is left running
     */
    void start();

    /**
     * Stops every worker, waiting up to a default bound (a few seconds) for them to leave, then forcing
     * them. Idempotent. Threads blocked in {@code recv} wake with {@link PoolNotStartedException}.
     */
    @Override
    void close();

    /**
     * Stops every worker, waiting at most {@code timeout} for them to leave before forcing them (interrupting
     * threads, killing processes). Idempotent.
     *
     * @param timeout how long workers get to leave on their own
     */
    void close(Duration timeout);

    /**
     * Sends a message to one worker. Never waits for the worker to receive it.
     *
     * @throws PoolNotStartedException  if the pool is not running
     * @throws IllegalArgumentException if {@code workerId} is out of range
     * @throws NullPointerException     if {@code key} is {@code null}
     * @throws WorkerCrashedException   if that worker has died
     */
    void send(int workerId, String key, Object data);

    /**
     * Receives the next message from any worker, blocking until one arrives or the pool closes.
     *
     * @throws PoolNotStartedException if the pool is not running, or closes while waiting
     * @throws WorkerException         if a worker's function threw
     * @throws WorkerCrashedException  if a worker died
     */
    WorkerMessage recv();

    /**
     * Receives the next message from any worker, waiting at most {@code timeout}.
     *
     * @throws RecvTimeoutException    if nothing arrived in time; the pool stays usable
     * @throws PoolNotStartedException if the pool is not running, or closes while waiting
     * @throws WorkerException         if a worker's function threw
     * @throws WorkerCrashedException  if a worker died
     */
    WorkerMessage recv(Duration timeout);

    /**
     * Receives the next message if one is waiting. Never blocks, never throws a timeout.
     *
     * @return the next message, or empty
     * @throws PoolNotStartedException if the pool is not running
     * @throws WorkerException         if a worker's function threw
     * @throws WorkerCrashedException  if a worker died
     */
    Optional<WorkerMessage> tryRecv();

    /**
     * Sends the same message to every worker.
     *
     * @throws PoolNotStartedException if the pool is not running
     * @throws WorkerCrashedException  if a worker has died; every live worker still got the message
     */
    void broadcast(String key, Object data);
}
