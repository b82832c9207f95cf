package dev.netrun.rpc;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InvalidClassException;
import java.io.NotSerializableException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A {@link Codec} using JDK serialization: any {@link java.io.Serializable} value round-trips, including
 * records, collections, {@code null}, and lambdas cast to a serializable functional interface
 * ({@code (Function<Integer, Integer> & Serializable) x -> x + 1}).
 *
 * <p><b>Restricted decoding.</b> Every decode runs under an {@link ObjectInputFilter} made of two parts:
 * <ul>
 *   <li>{@link Limits}: the nesting depth, array length, number of object references and number of bytes
 *       a payload may have. Always enforced, whatever the class filter says.</li>
 *   <li>a class filter, consulted for every class the stream names (including superclasses, array
 *       component types and the classes of {@code Class} objects). {@link ObjectInputFilter.Status#ALLOWED}
 *       lets the class in; {@code REJECTED} and {@code UNDECIDED} both refuse it, so the filter is an
 *       allow-list. Arrays of primitives are always allowed (within {@link Limits#maxArrayLength()}).</li>
 * </ul>
 * Two factories cover the usual cases: {@link #trusted(ClassLoader)} allows every class the loader can load
 * (for a parent JVM and its own child JVMs on one machine, which have authenticated each other with a
 * per-pool secret, see {@link Handshake}); {@link #allowList(ClassLoader, String...)} allows only the classes
 * matching {@link ObjectInputFilter.Config#createFilter} patterns (for data from the network). A rejected
 * class is never instantiated: the stream fails before its object is created (it may have been loaded,
 * without being initialized, to be checked).
 *
 * <p><b>Lambdas.</b> A serialized lambda travels as a {@link java.lang.invoke.SerializedLambda} naming its
 * <em>capturing class</em> (the class whose code contains the lambda), and is rebuilt by a call to that
 * class's synthetic {@code $deserializeLambda$} method. The capturing class must be loadable by this codec's
 * loader, and with an allow-list the patterns must admit {@code java.lang.invoke.SerializedLambda}, the
 * capturing class, {@code java.lang.Object} (captured arguments travel as an {@code Object[]}) and the
 * classes of the captured arguments. The rebuilt lambda's own (hidden) class is admitted exactly when its
 * capturing class is.
 *
 * <p><b>Class loading.</b> Classes named by the stream are resolved with the codec's {@link ClassLoader}
 * ({@code Class.forName(name, false, loader)}), primitive types by name, and dynamic proxies by loading their
 * interfaces with that loader.
 *
 * <p><b>Thread safety.</b> Immutable; safe for concurrent use. Each call uses its own streams. Neither
 * method blocks.
 */
public final class JavaSerializationCodec implements Codec {

    /**
     * The JDK value types most payloads need, as filter patterns to pass to
     * {@link #allowList(ClassLoader, String...)} alongside your own: {@code String}, boxed primitives and
     * their {@code Number} base, {@code Enum}, {@code Object} (for {@code Object[]}), {@code BigInteger},
     * {@code BigDecimal}, {@code UUID}, the {@code java.time} value classes, the common {@code java.util}
     * collections (array and linked lists, hash, linked and tree maps and sets, {@code ArrayDeque}, the
     * immutable collections of {@code List.of}/{@code Map.of}, the {@code Collections} wrappers) and
     * {@code Map.Entry}. It admits no class with behaviour beyond holding values.
     */
    public static final String JDK_VALUE_TYPES = String.join(";",
            "java.lang.String", "java.lang.Boolean", "java.lang.Character", "java.lang.Number",
            "java.lang.Byte", "java.lang.Short", "java.lang.Integer", "java.lang.Long", "java.lang.Float",
            "java.lang.Double", "java.lang.Enum", "java.lang.Object",
            "java.math.BigInteger", "java.math.BigDecimal", "java.util.UUID", "java.time.*",
            "java.util.ArrayList", "java.util.LinkedList", "java.util.ArrayDeque",
            "java.util.HashMap", "java.util.LinkedHashMap", "java.util.TreeMap",
            "java.util.HashSet", "java.util.LinkedHashSet", "java.util.TreeSet",
            "java.util.Map$Entry", "java.util.ImmutableCollections$*", "java.util.CollSer",
            "java.util.Collections$*", "java.util.Arrays$ArrayList");

    /**
     * Bounds on what one decoded payload may contain, enforced by the decoding filter. Immutable; validated
     * on construction.
     *
     * @param maxDepth       the deepest nesting of objects, e.g. 1000
     * @param maxArrayLength the most elements of any one array
     * @param maxRefs        the most object references (objects, strings, class descriptors) in one payload
     * @param maxBytes       the most bytes one payload may have
     */
    public record Limits(long maxDepth, long maxArrayLength, long maxRefs, long maxBytes) {
        /**
         * The defaults: depth 1,000; arrays of 64 Mi elements; 16 Mi references; 64 MiB, the default
         * frame limit of {@link StreamChannel}.
         */
        public static final Limits DEFAULT = new Limits(1_000, 64L << 20, 16L << 20, 64L << 20);

        /**
         * Validates the limits.
         *
         * @param maxDepth       the deepest nesting of objects
         * @param maxArrayLength the most elements of any one array
         * @param maxRefs        the most object references in one payload
         * @param maxBytes       the most bytes one payload may have
         * @throws IllegalArgumentException naming the value if any limit is not positive
         */
        public Limits {
            positive(maxDepth, "maxDepth");
            positive(maxArrayLength, "maxArrayLength");
            positive(maxRefs, "maxRefs");
            positive(maxBytes, "maxBytes");
        }

        private static void positive(long v, String name) {
            if (v <= 0) {
                throw new IllegalArgumentException(name + " <= 0: " + v);
            }
        }

        /**
         * @param maxDepth the new value
         * @return a copy with {@code maxDepth} replaced
         * @throws IllegalArgumentException if the value is not positive
         */
        public Limits withMaxDepth(long maxDepth) {
            return new Limits(maxDepth, maxArrayLength, maxRefs, maxBytes);
        }

        /**
         * @param maxArrayLength the new value
         * @return a copy with {@code maxArrayLength} replaced
         * @throws IllegalArgumentException if the value is not positive
         */
        public Limits withMaxArrayLength(long maxArrayLength) {
            return new Limits(maxDepth, maxArrayLength, maxRefs, maxBytes);
        }

        /**
         * @param maxRefs the new value
         * @return a copy with {@code maxRefs} replaced
         * @throws IllegalArgumentException if the value is not positive
         */
        public Limits withMaxRefs(long maxRefs) {
            return new Limits(maxDepth, maxArrayLength, maxRefs, maxBytes);
        }

        /**
         * @param maxBytes the new value
         * @return a copy with {@code maxBytes} replaced
         * @throws IllegalArgumentException if the value is not positive
         */
        public Limits withMaxBytes(long maxBytes) {
            return new Limits(maxDepth, maxArrayLength, maxRefs, maxBytes);
        }
    }

    private static final ObjectInputFilter ALLOW_ALL = info -> ObjectInputFilter.Status.ALLOWED;

    private static final Map<String, Class<?>> PRIMITIVES = Map.of(
            "boolean", boolean.class, "byte", byte.class, "char", char.class, "short", short.class,
            "int", int.class, "long", long.class, "float", float.class, "double", double.class,
            "void", void.class);

    private final ClassLoader loader;
    private final ObjectInputFilter classFilter;
    private final Limits limits;
    private final String description;
    /**
     * Classes already resolved by name with {@link #loader}: a loader answers a name with the same class every
     * time, and {@code Class.forName} costs more than a lookup. Only successes are kept, so its size is bounded
     * by the classes the loader can load. Shared by copies made with {@link #withLimits}.
     */
    private final ConcurrentHashMap<String, Class<?>> resolved;

    /**
     * Creates a codec resolving classes with {@code loader} and admitting the classes {@code classFilter}
     * allows, within {@code limits}.
     *
     * @param loader      the loader that resolves the classes named by decoded streams
     * @param classFilter called with each class the stream names; only {@code ALLOWED} admits it
     * @param limits      the limits of one payload
     * @throws NullPointerException if any argument is {@code null}
     */
    public JavaSerializationCodec(ClassLoader loader, ObjectInputFilter classFilter, Limits limits) {
        this(loader, classFilter, limits, "custom filter", new ConcurrentHashMap<>());
    }

    private JavaSerializationCodec(ClassLoader loader, ObjectInputFilter classFilter, Limits limits,
                                   String description, ConcurrentHashMap<String, Class<?>> resolved) {
        this.loader = Objects.requireNonNull(loader, "loader");
        this.classFilter = Objects.requireNonNull(classFilter, "classFilter");
        this.limits = Objects.requireNonNull(limits, "limits");
        this.description = description;
        this.resolved = resolved;
    }

    /**
     * A codec that decodes any class {@code loader} can load, within {@link Limits#DEFAULT}. Only for peers
     * that are trusted: a parent JVM and its own child JVMs on one machine, connected by a channel that was
     * authenticated (see {@link Handshake}).
     *
     * @param loader the loader that resolves decoded classes
     * @return a new codec
     * @throws NullPointerException if {@code loader} is {@code null}
     */
    public static JavaSerializationCodec trusted(ClassLoader loader) {
        return trusted(loader, Limits.DEFAULT);
    }

    /**
     * As {@link #trusted(ClassLoader)} with the given limits.
     *
     * @param loader the loader that resolves decoded classes
     * @param limits the limits of one payload
     * @return a new codec
     * @throws NullPointerException if an argument is {@code null}
     */
    public static JavaSerializationCodec trusted(ClassLoader loader, Limits limits) {
        return new JavaSerializationCodec(loader, ALLOW_ALL, limits, "trusted", new ConcurrentHashMap<>());
    }

    /**
     * A codec that decodes only classes matching {@code patterns}, within {@link Limits#DEFAULT}. Patterns
     * use the syntax of {@link ObjectInputFilter.Config#createFilter}: {@code "com.acme.Point"} (one class),
     * {@code "com.acme.*"} (a package), {@code "com.acme.**"} (a package and its subpackages),
     * {@code "!com.acme.Evil"} (rejected); each argument may itself hold several patterns separated by
     * {@code ';'}. The first matching pattern decides; a class matching none is rejected. Combine with
     * {@link #JDK_VALUE_TYPES} for strings, boxed numbers and collections:
     * {@code allowList(loader, JDK_VALUE_TYPES, "com.acme.**")}.
     *
     * @param loader   the loader that resolves decoded classes
     * @param patterns the allowed classes
     * @return a new codec
     * @throws IllegalArgumentException if a pattern is malformed (the message names it)
     * @throws NullPointerException     if an argument is {@code null}
     */
    public static JavaSerializationCodec allowList(ClassLoader loader, String... patterns) {
        return allowList(loader, Limits.DEFAULT, patterns);
    }

    /**
     * As {@link #allowList(ClassLoader, String...)} with the given limits.
     *
     * @param loader   the loader that resolves decoded classes
     * @param limits   the limits of one payload
     * @param patterns the allowed classes
     * @return a new codec
     * @throws IllegalArgumentException if a pattern is malformed (the message names it)
     * @throws NullPointerException     if an argument is {@code null}
     */
    public static JavaSerializationCodec allowList(ClassLoader loader, Limits limits, String... patterns) {
        Objects.requireNonNull(patterns, "patterns");
        for (String p : patterns) {
            Objects.requireNonNull(p, "pattern");
        }
        String joined = String.join(";", patterns);
        ObjectInputFilter filter = joined.isBlank() ? info -> ObjectInputFilter.Status.REJECTED
                : ObjectInputFilter.Config.createFilter(joined);
        return new JavaSerializationCodec(loader, filter, limits, "allow-list", new ConcurrentHashMap<>());
    }

    /**
     * @param limits the new limits
     * @return a codec like this one with other limits
     * @throws NullPointerException if {@code limits} is {@code null}
     */
    public JavaSerializationCodec withLimits(Limits limits) {
        return new JavaSerializationCodec(loader, classFilter, limits, description, resolved);
    }

    /** @return the loader that resolves decoded classes */
    public ClassLoader classLoader() {
        return loader;
    }

    /**
     * @return the filter that decides which classes may be decoded; only {@code ALLOWED} admits a class
     */
    public ObjectInputFilter classFilter() {
        return classFilter;
    }

    /** @return the limits of one payload */
    public Limits limits() {
        return limits;
    }

    /**
     * {@inheritDoc}
     *
     * <p>When the value, or an object reachable from it, is not serializable, the message names the first
     * offending class and, where it can be found, the path to it: {@code "Cannot encode java.lang.Thread: not
     * serializable (path: root.tasks[2].owner)"}.
     */
    @Override
    public byte[] encode(Object value) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        } catch (NotSerializableException e) {
            String msg = e.getMessage() == null ? "?" : e.getMessage();
            int nl = msg.indexOf('\n'); // with -Dsun.io.serialization.extendedDebugInfo the JDK appends a trace
            String className = (nl < 0 ? msg : msg.substring(0, nl)).trim();
            String path = SerializationPaths.find(value, className);
            throw new CodecException("Cannot encode " + className + ": not serializable"
                    + (path == null ? "" : " (path: " + path + ")"), e);
        } catch (IOException | RuntimeException e) {
            throw new CodecException("Cannot encode " + typeName(value) + ": " + e, e);
        } catch (StackOverflowError e) {
            throw new CodecException("Cannot encode " + typeName(value) + ": nested too deeply", e);
        }
        return bytes.toByteArray();
    }

    @Override
    public Object decode(byte[] bytes) {
        return decode(bytes, 0, bytes.length);
    }

    @Override
    public Object decode(byte[] bytes, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, bytes.length);
        if (length > limits.maxBytes()) {
            throw new CodecException("Cannot decode " + length + " bytes: exceeds maxBytes " + limits.maxBytes());
        }
        DecodeFilter filter = new DecodeFilter();
        try (FilteredInput in = new FilteredInput(new ByteArrayInputStream(bytes, offset, length), loader, resolved,
                filter)) {
            return in.readObject();
        } catch (InvalidClassException e) {
            if (filter.rejection != null) {
                throw new CodecException("Cannot decode: " + filter.rejection, e);
            }
            throw new CodecException("Cannot decode: " + e.getMessage(), e);
        } catch (ClassNotFoundException e) {
            throw new CodecException("Cannot decode: class " + e.getMessage() + " not found by " + loader, e);
        } catch (IOException | RuntimeException e) {
            if (filter.rejection != null) { // a filter rejection reported through another exception
                throw new CodecException("Cannot decode: " + filter.rejection, e);
            }
            throw new CodecException("Cannot decode: malformed data (" + e + ")", e);
        } catch (StackOverflowError e) {
            throw new CodecException("Cannot decode: nested too deeply for this thread's stack", e);
        }
    }

    @Override
    public String toString() {
        return "JavaSerializationCodec[" + description + ", " + limits + "]";
    }

    private static String typeName(Object value) {
        return value == null ? "null" : value.getClass().getName();
    }

    /**
     * The filter of one decode: limits first, then the class filter. Records why it rejected, because the
     * JDK's own exception says only "filter status: REJECTED". Confined to the decoding thread.
     */
    private final class DecodeFilter implements ObjectInputFilter {
        String rejection;

        @Override
        public Status checkInput(FilterInfo info) {
            if (info.depth() > limits.maxDepth()) {
                return reject("depth " + info.depth() + " exceeds maxDepth " + limits.maxDepth());
            }
            if (info.references() > limits.maxRefs()) {
                return reject(info.references() + " references exceed maxRefs " + limits.maxRefs());
            }
            if (info.streamBytes() > limits.maxBytes()) {
                return reject(info.streamBytes() + " bytes exceed maxBytes " + limits.maxBytes());
            }
            Class<?> c = info.serialClass();
            if (c == null) {
                return Status.UNDECIDED;
            }
            if (c.isArray() && info.arrayLength() > limits.maxArrayLength()) {
                return reject("array of " + info.arrayLength() + " elements exceeds maxArrayLength "
                        + limits.maxArrayLength());
            }
            Class<?> component = c;
            while (component.isArray()) {
                component = component.getComponentType();
            }
            if (component.isPrimitive()) {
                return Status.ALLOWED;
            }
            FilterInfo asked = info;
            if (c.isHidden()) {
                // A lambda rebuilt by SerializedLambda.readResolve: the JDK filters the result too. Its class is
                // hidden (it cannot be named in a stream); admit it exactly when its capturing class is admitted.
                Class<?> capturing = capturingClass(c);
                if (capturing == null) {
                    return reject("hidden class " + c.getName() + " is not allowed");
                }
                asked = new ClassInfo(capturing, info);
            }
            Status s;
            try {
                s = classFilter.checkInput(asked);
            } catch (RuntimeException e) {
                return reject("class filter failed on " + c.getName() + ": " + e);
            }
            if (s != Status.ALLOWED) {
                return reject("class " + c.getName() + " is not allowed by the " + description + " filter");
            }
            return Status.ALLOWED;
        }

        private static Class<?> capturingClass(Class<?> hidden) {
            String name = hidden.getName();
            int i = name.indexOf("$$Lambda");
            if (i <= 0) {
                return null;
            }
            try {
                return Class.forName(name.substring(0, i), false, hidden.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                return null;
            }
        }

        private Status reject(String why) {
            if (rejection == null) {
                rejection = why;
            }
            return Status.REJECTED;
        }
    }

    /** What the class filter is asked about a lambda: its capturing class in the stream's current state. */
    private record ClassInfo(Class<?> serialClass, ObjectInputFilter.FilterInfo stream)
            implements ObjectInputFilter.FilterInfo {
        @Override
        public long arrayLength() {
            return -1;
        }

        @Override
        public long depth() {
            return stream.depth();
        }

        @Override
        public long references() {
            return stream.references();
        }

        @Override
        public long streamBytes() {
            return stream.streamBytes();
        }
    }

    /** Resolves classes with the codec's loader and applies the filter. */
    private static final class FilteredInput extends ObjectInputStream {
        private final ClassLoader loader;
        private final ConcurrentHashMap<String, Class<?>> resolved;

        FilteredInput(InputStream in, ClassLoader loader, ConcurrentHashMap<String, Class<?>> resolved,
                      ObjectInputFilter filter) throws IOException {
            super(in);
            this.loader = loader;
            this.resolved = resolved;
            setObjectInputFilter(filter);
        }

        @Override
        protected Class<?> resolveClass(ObjectStreamClass desc) throws ClassNotFoundException {
            String name = desc.getName();
            Class<?> c = resolved.get(name);
            if (c == null) {
                c = PRIMITIVES.get(name);
                if (c == null) {
                    c = Class.forName(name, false, loader);
                }
                resolved.putIfAbsent(name, c);
            }
            return c;
        }

        @Override
        @SuppressWarnings("deprecation") // Proxy.getProxyClass: the class is needed, not an instance
        protected Class<?> resolveProxyClass(String[] interfaces) throws ClassNotFoundException {
            ClassLoader nonPublicLoader = null;
            Class<?>[] classes = new Class<?>[interfaces.length];
            for (int i = 0; i < interfaces.length; i++) {
                Class<?> c = Class.forName(interfaces[i], false, loader);
                if (!Modifier.isPublic(c.getModifiers())) {
                    if (nonPublicLoader != null && nonPublicLoader != c.getClassLoader()) {
                        throw new ClassNotFoundException("non-public proxy interfaces from different loaders: "
                                + String.join(", ", interfaces));
                    }
                    nonPublicLoader = c.getClassLoader();
                }
                classes[i] = c;
            }
            try {
                return Proxy.getProxyClass(nonPublicLoader != null ? nonPublicLoader : loader, classes);
            } catch (IllegalArgumentException e) {
                throw new ClassNotFoundException("cannot define a proxy for " + String.join(", ", interfaces), e);
            }
        }
    }
}
