package dev.netrun.exec;

import dev.netrun.rpc.Channel;

import java.util.List;
import java.util.Map;

/**
 * The arguments a {@link JobFunction} is called with: positional values, keyword values (kwargs) and,
 * for jobs run with {@code sendChannel(true)}, the worker's channel. Not thread-safe; valid for the
 * duration of the call.
 */
public interface Args {
    /** @return the number of positional arguments */
    int size();

    /**
     * Returns a positional argument, cast to the type the caller expects.
     *
     * @throws IllegalArgumentException if {@code index} is out of range
     * @throws ClassCastException       (at the call site) if the value is not of the expected type
     */
    <T> T get(int index);

    /**
     * Returns a keyword argument, or {@code defaultValue} if the job did not pass one with that name.
     *
     * @throws NullPointerException if {@code name} is {@code null}
     */
    <T> T named(String name, T defaultValue);

    /** @return the positional arguments, unmodifiable */
    List<Object> positional();

    /** @return the keyword arguments in the order given, unmodifiable */
    Map<String, Object> kwargs();

    /**
     * @return the worker's channel
     * @throws IllegalStateException if the job was not run with {@code sendChannel(true)}
     */
    Channel channel();
}
