package dev.netrun.exec;

import dev.netrun.rpc.Channel;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** The {@link Args} of one call, built by the worker from a run request. */
final class CallArgs implements Args {
    private final Object[] positional;
    private final Map<String, Object> kwargs;
    private final Channel channel;

    CallArgs(Object[] positional, Map<String, Object> kwargs, Channel channel) {
        this.positional = positional;
        this.kwargs = kwargs;
        this.channel = channel;
    }

    @Override
    public int size() {
        return positional.length;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T get(int index) {
        if (index < 0 || index >= positional.length) {
            throw new ArgumentMismatchException("argument index " + index + " out of range: the job has "
                    + positional.length + " positional argument(s)");
        }
        return (T) positional[index];
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T named(String name, T defaultValue) {
        Objects.requireNonNull(name, "name");
        return kwargs.containsKey(name) ? (T) kwargs.get(name) : defaultValue;
    }

    @Override
    public List<Object> positional() {
        return Collections.unmodifiableList(Arrays.asList(positional));
    }

    @Override
    public Map<String, Object> kwargs() {
        return kwargs;
    }

    boolean hasChannel() {
        return channel != null;
    }

    @Override
    public Channel channel() {
        if (channel == null) {
            throw new IllegalStateException("The job was not run with sendChannel(true): no channel is available");
        }
        return channel;
    }
}
