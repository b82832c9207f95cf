package dev.netrun.exec;

import dev.netrun.rpc.Channel;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;

/**
 * Finds and calls what a job names: a {@link JobFunction} (sent under a key, or a class named by its
 * import path) or a public static method named {@code "package.Class.method"}, choosing among overloads
 * by arity, argument types and, for kwargs, parameter names.
 */
final class Invocation {
    private Invocation() {
    }

    /** Something a worker can call with a job's arguments. */
    interface Target {
        Object invoke(CallArgs args) throws Exception;
    }

    /** A JobFunction, sent by key or instantiated from its class name. */
    static Target of(JobFunction f) {
        return f::call;
    }

    /**
     * Resolves an import path: a class implementing JobFunction, or {@code Class.staticMethod}.
     *
     * @return the target, or {@code null} if nothing of that name exists
     * @throws ArgumentMismatchException if the name exists but cannot be called (not a JobFunction, no
     *                                   public no-arg constructor, no public static method of that name)
     */
    static Target resolve(String path, ClassLoader loader) throws ReflectiveOperationException {
        Class<?> cls = load(path, loader);
        if (cls != null) {
            if (!JobFunction.class.isAssignableFrom(cls)) {
                throw new ArgumentMismatchException(cls.getName() + " does not implement " + JobFunction.class.getName()
                        + "; name a JobFunction class or a public static method (Class.method)");
            }
            Constructor<?> ctor;
            try {
                ctor = cls.getConstructor();
            } catch (NoSuchMethodException e) {
                throw new ArgumentMismatchException(cls.getName() + " needs a public no-arg constructor to be run by name");
            }
            return of((JobFunction) ctor.newInstance());
        }
        int dot = path.lastIndexOf('.');
        if (dot <= 0 || dot == path.length() - 1) {
            return null;
        }
        Class<?> owner = load(path.substring(0, dot), loader);
        if (owner == null) {
            return null;
        }
        String name = path.substring(dot + 1);
        List<Method> candidates = new ArrayList<>();
        for (Method m : owner.getMethods()) {
            if (m.getName().equals(name) && Modifier.isStatic(m.getModifiers())) {
                candidates.add(m);
            }
        }
        if (candidates.isEmpty()) {
            throw new ArgumentMismatchException(owner.getName() + " has no public static method named '" + name + "'");
        }
        candidates.sort((a, b) -> a.toString().compareTo(b.toString()));
        return new StaticMethod(owner.getName() + "." + name, candidates);
    }

    /** Loads a class by binary or canonical name (nested classes as Outer.Inner), or returns null. */
    private static Class<?> load(String name, ClassLoader loader) {
        String candidate = name;
        while (true) {
            try {
                return Class.forName(candidate, false, loader);
            } catch (ClassNotFoundException | NoClassDefFoundError e) {
                int dot = candidate.lastIndexOf('.');
                if (dot <= 0) {
                    return null;
                }
                candidate = candidate.substring(0, dot) + '$' + candidate.substring(dot + 1);
            } catch (LinkageError e) {
                return null;
            }
        }
    }

    private static final class StaticMethod implements Target {
        private final String name;
        private final List<Method> candidates;

        StaticMethod(String name, List<Method> candidates) {
            this.name = name;
            this.candidates = candidates;
        }

        @Override
        public Object invoke(CallArgs args) throws Exception {
            List<Method> matches = new ArrayList<>(2);
            List<Object[]> argvs = new ArrayList<>(2);
            List<String> reasons = new ArrayList<>();
            for (Method m : candidates) {
                Object[] argv = new Object[m.getParameterCount()];
                String why = bind(m, args, argv);
                if (why == null) {
                    matches.add(m);
                    argvs.add(argv);
                } else {
                    reasons.add(signature(m) + ": " + why);
                }
            }
            if (matches.isEmpty()) {
                throw new ArgumentMismatchException(candidates.size() == 1
                        ? "cannot call " + reasons.get(0)
                        : "no overload of " + name + " fits " + describe(args) + "; " + String.join("; ", reasons));
            }
            int chosen = mostSpecific(matches);
            if (chosen < 0) {
                StringJoiner j = new StringJoiner(", ");
                matches.forEach(m -> j.add(signature(m)));
                throw new ArgumentMismatchException("ambiguous call of " + name + " with " + describe(args)
                        + ": " + j);
            }
            try {
                return matches.get(chosen).invoke(null, argvs.get(chosen));
            } catch (InvocationTargetException e) {
                Throwable c = e.getCause();
                if (c instanceof Exception ex) {
                    throw ex;
                }
                throw (Error) c;
            }
        }

        /** Fills argv for m; returns null if the call fits, else why not. */
        private static String bind(Method m, CallArgs args, Object[] argv) {
            Parameter[] ps = m.getParameters();
            int offset = 0;
            if (args.hasChannel()) {
                if (ps.length == 0 || !ps[0].getType().isAssignableFrom(Channel.class)) {
                    return "sendChannel(true) needs a first parameter of type Channel";
                }
                argv[0] = args.channel();
                offset = 1;
            }
            List<Object> pos = args.positional();
            int needed = ps.length - offset;
            if (pos.size() > needed) {
                return "takes " + needed + " argument(s), got " + pos.size() + " positional";
            }
            for (int i = 0; i < pos.size(); i++) {
                argv[offset + i] = pos.get(i);
            }
            Map<String, Object> kw = args.kwargs();
            int used = 0;
            for (int i = offset + pos.size(); i < ps.length; i++) {
                if (kw.isEmpty()) {
                    return "takes " + needed + " argument(s), got " + pos.size();
                }
                if (!ps[i].isNamePresent()) {
                    return "keyword arguments need parameter names; compile " + m.getDeclaringClass().getName()
                            + " with javac -parameters";
                }
                String pname = ps[i].getName();
                if (!kw.containsKey(pname)) {
                    return "missing required argument '" + pname + "'";
                }
                argv[i] = kw.get(pname);
                used++;
            }
            if (used != kw.size()) {
                Set<String> unknown = new java.util.LinkedHashSet<>(kw.keySet());
                for (Parameter p : ps) {
                    unknown.remove(p.getName());
                }
                if (unknown.isEmpty()) {
                    // every name is a parameter's: some name a parameter already bound by position
                    StringJoiner repeated = new StringJoiner(", ");
                    for (int i = 0; i < offset + pos.size(); i++) {
                        if (kw.containsKey(ps[i].getName())) {
                            repeated.add("'" + ps[i].getName() + "'");
                        }
                    }
                    return "argument(s) " + repeated + " given both by position and by keyword";
                }
                return "unknown keyword argument(s) " + unknown;
            }
            for (int i = offset; i < ps.length; i++) {
                if (!fits(ps[i].getType(), argv[i])) {
                    return "argument '" + ps[i].getName() + "' must be " + ps[i].getType().getSimpleName() + ", got "
                            + (argv[i] == null ? "null" : argv[i].getClass().getName() + " (" + abbreviate(argv[i]) + ")");
                }
            }
            return null;
        }

        private static int mostSpecific(List<Method> ms) {
            if (ms.size() == 1) {
                return 0;
            }
            outer:
            for (int i = 0; i < ms.size(); i++) {
                for (int j = 0; j < ms.size(); j++) {
                    if (i != j && !moreSpecific(ms.get(i), ms.get(j))) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
        }

        private static boolean moreSpecific(Method a, Method b) {
            Class<?>[] pa = a.getParameterTypes();
            Class<?>[] pb = b.getParameterTypes();
            for (int i = 0; i < pa.length; i++) {
                if (!(pa[i] == pb[i] || (pa[i].isPrimitive() && !pb[i].isPrimitive() ? pb[i].isAssignableFrom(box(pa[i]))
                        : pb[i].isAssignableFrom(pa[i]) || widens(pa[i], pb[i])))) {
                    return false;
                }
            }
            return true;
        }
    }

    static String describe(CallArgs args) {
        StringJoiner j = new StringJoiner(", ", "(", ")");
        for (Object o : args.positional()) {
            j.add(o == null ? "null" : o.getClass().getSimpleName());
        }
        args.kwargs().forEach((k, v) -> j.add(k + "=" + (v == null ? "null" : v.getClass().getSimpleName())));
        return j.toString();
    }

    static String signature(Method m) {
        StringJoiner j = new StringJoiner(", ", m.getName() + "(", ")");
        for (Parameter p : m.getParameters()) {
            j.add(p.getType().getSimpleName() + (p.isNamePresent() ? " " + p.getName() : ""));
        }
        return j.toString();
    }

    /** Whether a value can be passed to a parameter of type p by reflection (boxing and widening included). */
    static boolean fits(Class<?> p, Object v) {
        if (v == null) {
            return !p.isPrimitive();
        }
        if (!p.isPrimitive()) {
            return p.isInstance(v);
        }
        Class<?> prim = unbox(v.getClass());
        return prim != null && (prim == p || widens(prim, p));
    }

    private static boolean widens(Class<?> from, Class<?> to) {
        if (from == byte.class) {
            return to == short.class || to == int.class || to == long.class || to == float.class || to == double.class;
        }
        if (from == short.class || from == char.class) {
            return to == int.class || to == long.class || to == float.class || to == double.class;
        }
        if (from == int.class) {
            return to == long.class || to == float.class || to == double.class;
        }
        if (from == long.class) {
            return to == float.class || to == double.class;
        }
        return from == float.class && to == double.class;
    }

    static Class<?> box(Class<?> c) {
        if (!c.isPrimitive()) {
            return c;
        }
        if (c == int.class) {
            return Integer.class;
        }
        if (c == long.class) {
            return Long.class;
        }
        if (c == double.class) {
            return Double.class;
        }
        if (c == boolean.class) {
            return Boolean.class;
        }
        if (c == float.class) {
            return Float.class;
        }
        if (c == short.class) {
            return Short.class;
        }
        if (c == byte.class) {
            return Byte.class;
        }
        if (c == char.class) {
            return Character.class;
        }
        return Void.class;
    }

    private static Class<?> unbox(Class<?> c) {
        for (Class<?> p : new Class<?>[]{int.class, long.class, double.class, boolean.class, float.class, short.class,
                byte.class, char.class}) {
            if (box(p) == c) {
                return p;
            }
        }
        return null;
    }

    /** {@code String.valueOf(v)}, or the class name if {@code toString} throws. */
    static String safeToString(Object v) {
        try {
            return String.valueOf(v);
        } catch (RuntimeException e) {
            return v.getClass().getName() + "@" + Integer.toHexString(System.identityHashCode(v));
        }
    }

    /** A short, single-line rendering of a value for error messages. */
    static String abbreviate(Object v) {
        String s = safeToString(v).replace('\n', ' ');
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }
}
