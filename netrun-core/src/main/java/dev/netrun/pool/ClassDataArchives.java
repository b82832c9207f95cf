package dev.netrun.pool;

import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Class-data-sharing archives for child JVMs, kept for the life of this JVM: a child JVM that maps an archive
 * of the classes a child loads starts markedly faster (measured: about a quarter less time from
 * {@code start()} to the first result of a 2-process pool on 2 cores).
 *
 * <p>The second pool started in this JVM with a given class path and set of JVM options records (a JVM that
 * starts a single pool never pays for an archive it would not use): its child 0 runs with
 * {@code -XX:ArchiveClassesAtExit}, and writes the archive when it leaves at the pool's close (a few hundred
 * milliseconds more for that one close). Once that child has exited normally, later pools with the same
 * settings start their children with {@code -XX:SharedArchiveFile}. The JVM's own CDS messages are turned off
 * in the children so that they never mix with the children's output. A recording that does not produce an
 * archive is tried once more, then not again.
 *
 * <p>A child may still refuse the options (something in its environment that this class cannot see) or crash
 * on an archive it cannot map (a damaged file, on JDK 17): {@link MultiprocessPool} then starts the pool again
 * without them and calls {@link Plan#giveUp()}, which ends archives for those settings.
 *
 * <p>Archives apply only where the JVM can use them: the children run this JVM's own {@code java} binary, whose
 * default CDS archive ({@code lib/server/classes.jsa}) is there; every class path entry is a jar file (the JVM
 * cannot archive classes from directories); and neither the JVM options nor the environment variables the
 * {@code java} launcher reads ({@code JAVA_TOOL_OPTIONS}, {@code JDK_JAVA_OPTIONS}, {@code _JAVA_OPTIONS})
 * choose a sharing setting of their own, add an agent, patch modules, replace the system class loader, change
 * compressed pointers or read an argument file ({@link #applies}). They are off when the system property
 * {@value #PROPERTY} is {@code false}.
 *
 * <p>Files: one directory {@code netrun-cds-<pid>-*} under {@code java.io.tmpdir}, made on first need, holding
 * a lock file that this JVM keeps locked while it lives; it is deleted with everything in it when this JVM
 * exits (a shutdown hook). A directory whose lock nobody holds was left by a JVM that died without its hooks
 * (kill -9), and is deleted when this JVM makes its own.
 *
 * <p>Thread-safe: the state is guarded by this object's lock, held for bookkeeping and for making or deleting
 * the directory, never while a child runs.
 */
final class ClassDataArchives {
    /** System property that turns archives off when {@code false}. */
    static final String PROPERTY = "netrun.classDataSharing";
    /** The archives of this JVM's pools. */
    static final ClassDataArchives SHARED = new ClassDataArchives(Path.of(System.getProperty("java.io.tmpdir")), true);
    /** The start (of pools with the same settings) that records: the second, so one pool per JVM costs nothing. */
    private static final int TRAIN_AT_START = 2;

    private static final String DIR_PREFIX = "netrun-cds-";
    private static final String LOCK = "lock";
    /** Keeps the JVM's CDS messages (warnings about archived classes, a stale archive) out of the output. */
    private static final String QUIET = "-Xlog:cds*=off";
    private static final int MAX_ATTEMPTS = 2;
    /** Options (lower case) after which a child cannot record or map an archive, or would warn about it. */
    private static final List<String> INCOMPATIBLE = List.of("share", "cds", "archiveclasses", "aot", "-javaagent",
            "-agentlib", "-agentpath", "--patch-module", "java.system.class.loader", "compressed", "@");
    private static final List<String> LAUNCHER_VARIABLES = List.of("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS",
            "_JAVA_OPTIONS");

    private static final System.Logger LOG = System.getLogger(ClassDataArchives.class.getName());

    private final Path root;
    private final boolean hook;
    private final Map<String, State> states = new HashMap<>();
    private Path dir;
    private FileChannel lock;
    private boolean unavailable;
    private int trainings;

    /**
     * @param root where the archive directory is made
     * @param hook whether to delete the directory when this JVM exits
     */
    ClassDataArchives(Path root, boolean hook) {
        this.root = root;
        this.hook = hook;
    }

    private static final class State {
        int starts;
        Path archive;
        boolean training;
        int attempts;
    }

    /** What one start of a pool adds to its children's command lines, and what to do once they have left. */
    static final class Plan {
        static final Plan NONE = new Plan(null, null, null, null);

        private final ClassDataArchives owner;
        private final String key;
        private final Path training;
        private final Path shared;

        private Plan(ClassDataArchives owner, String key, Path training, Path shared) {
            this.owner = owner;
            this.key = key;
            this.training = training;
            this.shared = shared;
        }

        /** @return the options for child {@code processIdx}, to go after the user's own */
        List<String> options(int processIdx) {
            if (training != null) {
                return processIdx == 0 ? List.of("-XX:ArchiveClassesAtExit=" + training, QUIET) : List.of();
            }
            return shared != null ? List.of("-XX:SharedArchiveFile=" + shared, QUIET) : List.of();
        }

        /** @return whether this start records: child 0 writes the archive as it leaves */
        boolean trains() {
            return training != null;
        }

        /**
         * Records how the recording child left; call once every child has gone.
         *
         * @param exitCode child 0's exit status, or {@code null} if it did not exit (was never started)
         */
        void finish(Integer exitCode) {
            if (training != null) {
                owner.trained(key, training, exitCode != null && exitCode == 0);
            }
        }

        /** A child did not start with these options: no archive for these settings from now on. */
        void giveUp() {
            if (owner != null) {
                owner.giveUp(key);
            }
        }
    }

    /**
     * Plans one start of a pool.
     *
     * @param defaultJava whether the children run this JVM's own {@code java} binary
     * @param classPath   the children's class path
     * @param jvmOptions  the user's options for the children
     * @return the plan; {@link Plan#NONE} when archives do not apply
     */
    synchronized Plan plan(boolean defaultJava, String classPath, List<String> jvmOptions) {
        if (unavailable || !applies(defaultJava, classPath, jvmOptions)) {
            return Plan.NONE;
        }
        String key = key(classPath, jvmOptions);
        if (key == null) {
            return Plan.NONE;
        }
        State s = states.computeIfAbsent(key, k -> new State());
        if (s.archive != null) {
            if (Files.isRegularFile(s.archive)) {
                return new Plan(this, key, null, s.archive);
            }
            s.archive = null; // removed behind our back: record again
        }
        if (++s.starts < TRAIN_AT_START || s.training || s.attempts >= MAX_ATTEMPTS) {
            return Plan.NONE; // a JVM that starts one pool never pays for an archive it would not use
        }
        Path d = directory();
        if (d == null) {
            return Plan.NONE;
        }
        s.training = true;
        s.attempts++;
        return new Plan(this, key, d.resolve(key + ".training-" + (++trainings) + ".jsa"), null);
    }

    private synchronized void trained(String key, Path training, boolean exitedNormally) {
        State s = states.get(key);
        try {
            if (s != null && dir != null && exitedNormally && Files.isRegularFile(training) && Files.size(training) > 0) {
                Path archive = training.resolveSibling(key + ".jsa");
                Files.move(training, archive, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                s.archive = archive;
            } else {
                Files.deleteIfExists(training);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "keeping the class data archive " + training + " failed", e);
        } finally {
            if (s != null) {
                s.training = false;
            }
        }
    }

    private synchronized void giveUp(String key) {
        State s = states.get(key);
        if (s == null) {
            return; // deleteAll() has forgotten everything
        }
        s.attempts = MAX_ATTEMPTS;
        if (s.archive != null) {
            try {
                Files.deleteIfExists(s.archive);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "removing " + s.archive + " failed", e);
            }
            s.archive = null;
        }
    }

    /**
     * Whether children started this way can use an archive: see the class comment.
     */
    static boolean applies(boolean defaultJava, String classPath, List<String> jvmOptions) {
        if (!defaultJava || "false".equalsIgnoreCase(System.getProperty(PROPERTY))) {
            return false;
        }
        if (!Files.isRegularFile(Path.of(System.getProperty("java.home"), "lib", "server", "classes.jsa"))) {
            return false; // no default CDS archive (a jlink image, say): JDK 17 cannot record on top of nothing
        }
        List<String> options = new ArrayList<>(jvmOptions);
        for (String variable : LAUNCHER_VARIABLES) {
            String value = System.getenv(variable);
            if (value != null) {
                options.add(value);
            }
        }
        for (String o : options) {
            String l = o.toLowerCase(Locale.ROOT);
            for (String bad : INCOMPATIBLE) {
                if (bad.equals("@") ? l.startsWith("@") : l.contains(bad)) {
                    return false;
                }
            }
        }
        if (classPath == null || classPath.isEmpty()) {
            return false;
        }
        for (String entry : classPath.split(File.pathSeparator, -1)) {
            if (entry.isEmpty() || entry.contains("*") || !entry.toLowerCase(Locale.ROOT).endsWith(".jar")
                    || !Files.isRegularFile(Path.of(entry))) {
                return false;
            }
        }
        return true;
    }

    /** A file name for these settings: a digest of the JVM, the class path (with each jar's size and time) and the options. */
    private static String key(String classPath, List<String> jvmOptions) {
        StringBuilder sb = new StringBuilder();
        sb.append(System.getProperty("java.home")).append('\0').append(Runtime.version()).append('\0');
        try {
            for (String entry : classPath.split(File.pathSeparator, -1)) {
                Path p = Path.of(entry);
                sb.append(p.toAbsolutePath()).append('\0').append(Files.size(p)).append('\0')
                        .append(Files.getLastModifiedTime(p).toMillis()).append('\0');
            }
        } catch (IOException e) {
            return null;
        }
        for (String o : jvmOptions) {
            sb.append(o).append('\0');
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(sb.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            return null; // every JDK has SHA-256
        }
    }

    /**
     * The archive directory, made on first need with its lock and its shutdown hook; {@code null} if it cannot
     * be made (then archives stay off for the life of this object).
     */
    private Path directory() {
        if (dir != null) {
            return dir;
        }
        Path d = null;
        try {
            removeAbandoned();
            d = Files.createTempDirectory(root, DIR_PREFIX + ProcessHandle.current().pid() + "-");
            lock = FileChannel.open(d.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            if (lock.tryLock() == null) {
                throw new IOException("cannot lock " + d.resolve(LOCK));
            }
            if (hook) {
                Runtime.getRuntime().addShutdownHook(new Thread(this::deleteAll, "netrun-cds-cleanup"));
            }
        } catch (IOException | RuntimeException e) { // IllegalStateException: this JVM is shutting down
            LOG.log(System.Logger.Level.DEBUG, "no class data archives for child JVMs: " + e);
            unavailable = true;
            closeLock();
            if (d != null) {
                deleteTree(d);
            }
            return null;
        }
        dir = d;
        return dir;
    }

    /** Deletes the directories whose lock nobody holds: their JVMs are gone. */
    private void removeAbandoned() throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, DIR_PREFIX + "*")) {
            for (Path p : ds) {
                if (Files.isDirectory(p) && abandoned(p)) {
                    deleteTree(p);
                }
            }
        }
    }

    private static boolean abandoned(Path d) {
        Path lockFile = d.resolve(LOCK);
        if (!Files.exists(lockFile)) {
            return false; // being made right now, or not ours
        }
        try (FileChannel c = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
            FileLock l = c.tryLock();
            if (l == null) {
                return false; // a live JVM holds it
            }
            l.release();
            return true;
        } catch (OverlappingFileLockException e) {
            return false; // this JVM holds it
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Deletes the archive directory and forgets every archive; archives stay off afterwards. Called by the
     * shutdown hook.
     */
    synchronized void deleteAll() {
        unavailable = true;
        closeLock();
        if (dir != null) {
            deleteTree(dir);
            dir = null;
        }
        states.clear();
    }

    private void closeLock() {
        if (lock != null) {
            try {
                lock.close(); // releases the lock
            } catch (IOException e) {
                // nothing more to do
            }
            lock = null;
        }
    }

    /** @return the archive directory, {@code null} before the first recording */
    synchronized Path directoryIfMade() {
        return dir;
    }

    private static void deleteTree(Path p) {
        try {
            Files.walkFileTree(p, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (NoSuchFileException e) {
            // already gone
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "removing " + p + " failed", e);
        }
    }
}
