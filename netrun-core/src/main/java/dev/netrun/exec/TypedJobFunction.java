package dev.netrun.exec;

import java.io.Serializable;
import java.lang.invoke.MethodType;
import java.lang.invoke.SerializedLambda;
import java.lang.reflect.Method;
import java.util.Objects;

/**
 * A {@link JobFunction} built from a typed lambda of fixed arity. Before calling, it checks the number of
 * arguments and, when the lambda's parameter types can be read from its serialized form, their types, so
 * that a wrong argument fails with a message naming it instead of a bare {@code ClassCastException}.
 */
final class TypedJobFunction implements JobFunction {
    private static final long serialVersionUID = 1L;

    private final Serializable fn;
    private final int arity;
    /** Parameter types read from the lambda; null until computed, empty array if unknown. */
    private transient volatile Class<?>[] types;

    TypedJobFunction(Serializable fn, int arity) {
        this.fn = Objects.requireNonNull(fn, "fn");
        this.arity = arity;
    }

    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public Object call(Args args) throws Exception {
        if (!args.kwargs().isEmpty()) {
            throw new ArgumentMismatchException("this function takes " + arity
                    + " positional argument(s) and no keyword arguments, got kwargs " + args.kwargs().keySet());
        }
        if (args.size() != arity) {
            throw new ArgumentMismatchException("this function takes " + arity + " argument(s)"
                    + describe(parameterTypes()) + ", got " + args.size());
        }
        Class<?>[] t = parameterTypes();
        if (t.length == arity) {
            for (int i = 0; i < arity; i++) {
                Object v = args.get(i);
                if (v != null && !Invocation.box(t[i]).isInstance(v)) {
                    throw new ArgumentMismatchException("argument " + i + " must be " + t[i].getSimpleName()
                            + ", got " + v.getClass().getName() + " (" + Invocation.abbreviate(v) + ")");
                }
            }
        }
        switch (arity) {
            case 0:
                return ((F0) fn).apply();
            case 1:
                return ((F1) fn).apply(args.get(0));
            case 2:
                return ((F2) fn).apply(args.get(0), args.get(1));
            case 3:
                return ((F3) fn).apply(args.get(0), args.get(1), args.get(2));
            default:
                return ((F4) fn).apply(args.get(0), args.get(1), args.get(2), args.get(3));
        }
    }

    private static String describe(Class<?>[] types) {
        if (types.length == 0) {
            return "";
        }
        StringBuilder sb = new StringBuilder(" (");
        for (int i = 0; i < types.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(types[i].getSimpleName());
        }
        return sb.append(')').toString();
    }

    private Class<?>[] parameterTypes() {
        Class<?>[] t = types;
        if (t == null) {
            t = readLambdaTypes(fn, arity);
            types = t;
        }
        return t;
    }

    /** Reads a serializable lambda's instantiated parameter types; an empty array if that is not possible. */
    private static Class<?>[] readLambdaTypes(Object lambda, int arity) {
        try {
            Method writeReplace = lambda.getClass().getDeclaredMethod("writeReplace");
            writeReplace.setAccessible(true);
            Object replaced = writeReplace.invoke(lambda);
            if (replaced instanceof SerializedLambda sl) {
                ClassLoader loader = lambda.getClass().getClassLoader();
                MethodType mt = MethodType.fromMethodDescriptorString(sl.getInstantiatedMethodType(), loader);
                if (mt.parameterCount() == arity) {
                    return mt.parameterArray();
                }
            }
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            // not a lambda (an explicit class), or its module is closed: check arity only
        }
        return new Class<?>[0];
    }
}
