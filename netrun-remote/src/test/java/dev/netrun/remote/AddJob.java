package dev.netrun.remote;

import dev.netrun.exec.Args;
import dev.netrun.exec.JobFunction;

/** A job class named by import path ({@code "dev.netrun.remote.AddJob"}). */
public final class AddJob implements JobFunction {
    private static final long serialVersionUID = 1L;

    public AddJob() {
    }

    @Override
    public Object call(Args args) {
        return args.<Integer>get(0) + args.<Integer>get(1);
    }
}
