package dev.netrun.pool;

import dev.netrun.rpc.CompactCodec;
import dev.netrun.rpc.JavaSerializationCodec;

/**
 * The messages between a {@link MultiprocessPool} and its child JVMs, on top of the user's own. Every
 * connection starts with {@link #HELLO}; the control connection of a child carries the rest.
 */
final class ProcessProtocol {
    private ProcessProtocol() {
    }

    /** child -> parent, first message of every connection: {@code Object[]{processIdx, role}}, role -1 = control. */
    static final String HELLO = "__pool:hello";
    /** parent -> child (control): {@code Object[]{functionBytesOrClassName, threadsPerProcess}}. */
    static final String INIT = "__pool:init";
    /** child -> parent (control): every worker thread is running. */
    static final String READY = "__pool:ready";
    /** child -> parent (control): the child could not start: {@code String} why. */
    static final String START_FAILED = "__pool:start-failed";
    /** parent -> child (control): flush stdout and stderr and write the marker with this {@code String} token. */
    static final String FLUSH = "__pool:flush";
    /**
     * child -> parent (on the worker's connection, or control when that is closed): a worker's function ended
     * while the pool was running: {@code Object[]{threadIdx, className or null if it returned, message, stack}}.
     */
    static final String WORKER_ENDED = "__pool:worker-ended";

    static final int CONTROL = -1;

    /** The codec of the parent-child connections: compact for common values, JDK serialization for the rest. */
    static CompactCodec codec(ClassLoader loader) {
        return new CompactCodec(JavaSerializationCodec.trusted(loader));
    }
}
