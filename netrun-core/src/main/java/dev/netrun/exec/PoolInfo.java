package dev.netrun.exec;

import dev.netrun.pool.Pool;

/**
 * A pool of an {@link ExecutionManager}, as listed by {@link ExecutionManager#pools()}.
 *
 * @param id   the pool id
 * @param type the pool's class, e.g. {@code ThreadPool.class}
 */
public record PoolInfo(String id, Class<? extends Pool> type) {
}
