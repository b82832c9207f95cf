package dev.netrun.rpc;

import java.io.ObjectStreamClass;
import java.io.ObjectStreamField;
import java.io.Serializable;
import java.lang.invoke.SerializedLambda;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Finds where, inside an object graph, an instance of a non-serializable class sits, so that an encoding
 * error can say {@code "(path: root.jobs[2].owner)"} and not only the class name that the JDK reports.
 *
 * <p>Best effort and bounded: it walks arrays, {@link Collection}s, {@link Map}s, serializable lambdas (their
 * captured arguments) and the serializable fields of classes whose fields are reflectively readable (classes
 * of the unnamed module and open modules; JDK internals are walked only through the collection interfaces).
 * It visits at most {@value #MAX_NODES} objects and returns {@code null} when it does not find the class.
 * Only used after serialization failed, so its cost does not matter on the fast path.
 *
 * <p>Stateless; safe from any thread.
 */
final class SerializationPaths {
    static final int MAX_NODES = 10_000;
    private static final int MAX_KEY_CHARS = 40;

    private SerializationPaths() {
    }

    private record Node(Object value, String path) {
    }

    /**
     * Returns the path from {@code root} to the first instance (depth-first, in serialization order where it
     * can tell) of the class named {@code className}, or {@code null} if none is found.
     */
    static String find(Object root, String className) {
        IdentityHashMap<Object, Boolean> seen = new IdentityHashMap<>();
        Deque<Node> stack = new ArrayDeque<>();
        stack.push(new Node(root, "root"));
        int visited = 0;
        while (!stack.isEmpty() && visited++ < MAX_NODES) {
            Node n = stack.pop();
            Object v = n.value();
            if (v == null || seen.put(v, Boolean.TRUE) != null) {
                continue;
            }
            Class<?> c = v.getClass();
            if (c.getName().equals(className)) {
                return n.path();
            }
            // Children are pushed in reverse so that they pop in their natural order.
            Deque<Node> children = new ArrayDeque<>();
            try {
                children(v, n.path(), children);
            } catch (RuntimeException | LinkageError e) {
                // unreadable: skip this object's children
            }
            while (!children.isEmpty()) {
                stack.push(children.pollLast());
            }
        }
        return null;
    }

    private static void children(Object v, String path, Deque<Node> out) {
        Class<?> c = v.getClass();
        if (c.isArray()) {
            if (!c.getComponentType().isPrimitive()) {
                int n = Array.getLength(v);
                for (int i = 0; i < n; i++) {
                    out.add(new Node(Array.get(v, i), path + "[" + i + "]"));
                }
            }
        } else if (v instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                String k = shortString(e.getKey());
                out.add(new Node(e.getKey(), path + ".key(" + k + ")"));
                out.add(new Node(e.getValue(), path + "[" + k + "]"));
            }
        } else if (v instanceof Collection<?> col) {
            int i = 0;
            for (Object o : col) {
                out.add(new Node(o, path + "[" + i++ + "]"));
            }
        } else if (v instanceof SerializedLambda sl) {
            for (int i = 0; i < sl.getCapturedArgCount(); i++) {
                out.add(new Node(sl.getCapturedArg(i), path + ".captured[" + i + "]"));
            }
        } else if (v instanceof Serializable) {
            if (c.isSynthetic() || c.isHidden()) {
                lambda(v, c, path, out);
                return;
            }
            fields(v, c, path, out);
        }
    }

    private static void lambda(Object v, Class<?> c, String path, Deque<Node> out) {
        try {
            Method m = c.getDeclaredMethod("writeReplace");
            m.setAccessible(true);
            Object replaced = m.invoke(v);
            if (replaced instanceof SerializedLambda sl) {
                for (int i = 0; i < sl.getCapturedArgCount(); i++) {
                    out.add(new Node(sl.getCapturedArg(i), path + ".captured[" + i + "]"));
                }
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // not a lambda we can open
        }
    }

    private static void fields(Object v, Class<?> c, String path, Deque<Node> out) {
        // Superclass fields first, as serialization writes them.
        Deque<Class<?>> chain = new ArrayDeque<>();
        for (Class<?> k = c; k != null && Serializable.class.isAssignableFrom(k); k = k.getSuperclass()) {
            chain.push(k);
        }
        for (Class<?> k : chain) {
            ObjectStreamClass osc = ObjectStreamClass.lookup(k);
            if (osc == null) {
                continue;
            }
            for (ObjectStreamField f : osc.getFields()) {
                if (f.isPrimitive()) {
                    continue;
                }
                try {
                    Field field = k.getDeclaredField(f.getName());
                    field.setAccessible(true);
                    out.add(new Node(field.get(v), path + "." + f.getName()));
                } catch (ReflectiveOperationException | RuntimeException e) {
                    // not readable (module encapsulation, serialPersistentFields without a real field)
                }
            }
        }
    }

    private static String shortString(Object key) {
        String s;
        try {
            s = String.valueOf(key);
        } catch (RuntimeException e) {
            s = key.getClass().getName();
        }
        return s.length() <= MAX_KEY_CHARS ? s : s.substring(0, MAX_KEY_CHARS) + "...";
    }
}
