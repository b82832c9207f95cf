package dev.netrun.pool;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Class-data-sharing archives for child JVMs, kept for the life of this JVM: a child JVM that maps an archive
 * of the classes a child loads starts markedly faster (measured: ~195 -> ~150 ms from {@code start()} to the
 * first result of a 2-process pool on 2 cores).
 *
 * <p>The second pool started in this JVM with a given class path and set of JVM options trains (a JVM that
 * starts a single pool never pays for an archive it would not use): its child 0 runs with
 * {@code -XX:ArchiveClassesAtExit}, and writes the archive when it leaves at the pool's close (a few hundred
 * milliseconds more for that one close). Once that child has exited normally, later pools with the same
 * settings start their children with {@code -XX:SharedArchiveFile}. The JVM checks an archive against
 * its class path and ignores one that does not fit; the JVM's own CDS messages are turned off in the children
 * so that they never mix with the children's output. A training that fails is retried once, then not again.
 *
 * <p>Archives apply only where the JVM can use them: the children run this JVM's own {@code java} binary, every
 * class path entry is a jar file (the JVM cannot archive classes from directories), and the JVM options do
 * not already choose a sharing or logging setting of their own (anything mentioning {@code share},
 * {@code cds}, {@code ArchiveClasses} or {@code AOT}). They are off when the system property
 * {@value #PROPERTY} is {@code false}.
 *
 * <p>Files: one directory {@code netrun-cds-<pid>-*} under {@code java.io.tmpdir}, made on first need and
 * deleted with everything in it when this JVM exits (a shutdown hook). Directories left behind by JVMs that
 * died without their hooks (kill -9) are deleted when this JVM makes its own.
 *
 * <p>Thread-safe: the state is guarded by this object's lock, held only for bookkeeping, never across I/O of
 * the children.
 */
final class ClassDataArchives {
    /** System property that turns archives off when {@code false}. */
    static final String PROPERTY = "netrun.classDataSharing";
    /** The archives of this JVM's pools. */
    static final ClassDataArchives SHARED = new ClassDataArchives(Path.of(System.getProperty("java.io.tmpdir")), true);

    private static final String DIR_PREFIX = "netrun-cds-";
    /** Keeps the JVM's CDS messages (warnings about archived classes, a stale archive) out of the output. */
    private static final String QUIET = "-Xlog:cds*=off";
    private static final int MAX_ATTEMPTS = 2;
    /** The start (of pools with the same settings) that trains: the second, so that one pool per JVM costs nothing. */
    static final int TRAIN_AT_START = 2;

    private static final System.Logger LOG = System.getLogger(ClassDataArchives.class.getName());

    private final Path root;
    private final boolean hook;
    private final Map<String, State> states = new HashMap<>();
    private Path dir;
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
        static final Plan NONE = new Plan(null, null, null, List.of());

        private final ClassDataArchives owner;
        private final String key;
        private final Path training;
        private final List<String> shared;

        private Plan(ClassDataArchives owner, String key, Path training, List<String> shared) {
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
            return shared;
        }

        /** @return whether this start trains: child 0 writes the archive as it leaves */
        boolean trains() {
            return training != null;
        }

        /**
         * Records how the training child left; call once every child has gone.
         *
         * @param exitCode child 0's exit status, or {@code null} if it did not exit (was never started)
         */
        void finish(Integer exitCode) {
            if (training != null) {
                owner.trained(key, training, exitCode != null && exitCode == 0);
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
                return new Plan(this, key, null, List.of("-XX:SharedArchiveFile=" + s.archive, QUIET));
            }
            s.archive = null; // removed behind our back: train again
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
        return new Plan(this, key, d.resolve(key + ".training-" + (++trainings) + ".jsa"), List.of());
    }

    private synchronized void trained(String key, Path training, boolean exitedNormally) {
        State s = states.get(key);
        s.training = false;
        try {
            if (exitedNormally && Files.isRegularFile(training) && Files.size(training) > 0) {
                Path archive = training.resolveSibling(key + ".jsa");
                Files.move(training, archive, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                s.archive = archive;
                return;
            }
            Files.deleteIfExists(training);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "keeping the class data archive " + training + " failed", e);
        }
    }

    /**
     * Whether children started this way can use an archive.
     */
    static boolean applies(boolean defaultJava, String classPath, List<String> jvmOptions) {
        if (!defaultJava || "false".equalsIgnoreCase(System.getProperty(PROPERTY))) {
            return false;
        }
        for (String o : jvmOptions) {
            String l = o.toLowerCase(Locale.ROOT);
            if (l.contains("share") || l.contains("cds") || l.contains("archiveclasses") || l.contains("aot")) {
                return false;
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

    /** The archive directory, made on first need (with its shutdown hook); {@code null} if it cannot be made. */
    private Path directory() {
        if (dir != null) {
            return dir;
        }
        try {
            removeAbandoned();
            dir = Files.createTempDirectory(root, DIR_PREFIX + ProcessHandle.current().pid() + "-");
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "no class data archives for child JVMs: " + e);
            unavailable = true;
            return null;
        }
        if (hook) {
            Runtime.getRuntime().addShutdownHook(new Thread(this::deleteAll, "netrun-cds-cleanup"));
        }
        return dir;
    }

    /** Deletes the directories of JVMs that are gone. */
    private void removeAbandoned() throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, DIR_PREFIX + "*")) {
            for (Path p : ds) {
                String rest = p.getFileName().toString().substring(DIR_PREFIX.length());
                int dash = rest.indexOf('-');
                if (dash <= 0) {
                    continue;
                }
                long pid;
                try {
                    pid = Long.parseLong(rest.substring(0, dash));
                } catch (NumberFormatException e) {
                    continue;
                }
                if (ProcessHandle.of(pid).isEmpty()) {
                    deleteTree(p);
                }
            }
        }
    }

    /** Deletes the archive directory and forgets every archive. Called by the shutdown hook. */
    synchronized void deleteAll() {
        if (dir != null) {
            deleteTree(dir);
            dir = null;
        }
        states.clear();
    }

    /** @return the archive directory, {@code null} before the first training */
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
