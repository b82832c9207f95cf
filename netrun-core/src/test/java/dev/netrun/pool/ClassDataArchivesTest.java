package dev.netrun.pool;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Class-data-sharing archives for child JVMs: when they apply, how a training becomes an archive, and that
 * a later pool's children really load their classes from it.
 */
@Timeout(120)
class ClassDataArchivesTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path tmp;

    private Path jar(String name) throws IOException {
        Path p = tmp.resolve(name);
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(p))) {
            out.putNextEntry(new JarEntry("x.txt"));
            out.write('x');
        }
        return p;
    }

    @Test
    void archivesApplyOnlyToJarClassPathsOfThisJvmsJava() throws IOException {
        String a = jar("a.jar").toString();
        String b = jar("b.jar").toString();
        String both = a + File.pathSeparator + b;
        assertThat(ClassDataArchives.applies(true, both, List.of())).isTrue();
        assertThat(ClassDataArchives.applies(true, a, List.of("-Xmx64m", "-Dfoo=bar"))).isTrue();

        assertThat(ClassDataArchives.applies(false, both, List.of())).as("another java binary").isFalse();
        assertThat(ClassDataArchives.applies(true, a + File.pathSeparator + tmp, List.of())).as("a directory").isFalse();
        assertThat(ClassDataArchives.applies(true, tmp.resolve("missing.jar").toString(), List.of())).isFalse();
        assertThat(ClassDataArchives.applies(true, tmp + File.separator + "*", List.of())).as("a wildcard").isFalse();
        assertThat(ClassDataArchives.applies(true, a + File.pathSeparator, List.of())).as("an empty entry").isFalse();
        assertThat(ClassDataArchives.applies(true, "", List.of())).isFalse();
        for (String own : List.of("-Xshare:off", "-XX:SharedArchiveFile=x.jsa", "-XX:ArchiveClassesAtExit=y.jsa",
                "-Xlog:cds=info", "-XX:AOTCache=z.aot", "-XX:+AutoCreateSharedArchive", "-javaagent:agent.jar",
                "-agentlib:jdwp=transport=dt_socket,server=y,suspend=n", "-agentpath:/x/libagent.so",
                "--patch-module=java.base=x.jar", "-Djava.system.class.loader=com.example.Loader",
                "-XX:-UseCompressedClassPointers", "@options.txt")) {
            assertThat(ClassDataArchives.applies(true, a, List.of(own))).as(own).isFalse();
        }
        System.setProperty(ClassDataArchives.PROPERTY, "false");
        try {
            assertThat(ClassDataArchives.applies(true, a, List.of())).as("turned off by the property").isFalse();
        } finally {
            System.clearProperty(ClassDataArchives.PROPERTY);
        }
    }

    @Test
    void oneTrainingAtATimeThenEveryChildSharesTheArchive() throws IOException {
        ClassDataArchives archives = new ClassDataArchives(tmp, false);
        String cp = jar("app.jar").toString();
        assertThat(archives.plan(true, tmp.toString(), List.of()).options(0)).as("not applicable").isEmpty();

        ClassDataArchives.Plan once = archives.plan(true, cp, List.of());
        assertThat(once.trains()).as("a JVM that starts one pool pays nothing").isFalse();
        assertThat(once.options(0)).isEmpty();
        assertThat(archives.directoryIfMade()).isNull();
        ClassDataArchives.Plan first = archives.plan(true, cp, List.of());
        assertThat(first.trains()).as("the second start trains").isTrue();
        assertThat(first.options(0)).anyMatch(o -> o.startsWith("-XX:ArchiveClassesAtExit=" + archives.directoryIfMade()))
                .contains("-Xlog:cds*=off");
        assertThat(first.options(1)).as("only child 0 trains").isEmpty();
        ClassDataArchives.Plan meanwhile = archives.plan(true, cp, List.of());
        assertThat(meanwhile.trains()).isFalse();
        assertThat(meanwhile.options(0)).as("no second training while one runs").isEmpty();
        archives.plan(true, cp, List.of("-Xmx64m"));
        assertThat(archives.plan(true, cp, List.of("-Xmx64m")).trains()).as("other options, other archive").isTrue();

        Path training = Path.of(first.options(0).get(0).substring("-XX:ArchiveClassesAtExit=".length()));
        Files.write(training, new byte[]{1, 2, 3}); // what the child would have written as it left
        first.finish(0);
        assertThat(training).doesNotExist();

        ClassDataArchives.Plan later = archives.plan(true, cp, List.of());
        assertThat(later.trains()).isFalse();
        String shared = later.options(0).get(0);
        assertThat(shared).startsWith("-XX:SharedArchiveFile=" + archives.directoryIfMade());
        assertThat(Path.of(shared.substring("-XX:SharedArchiveFile=".length()))).isRegularFile();
        assertThat(later.options(1)).isEqualTo(later.options(0)).contains("-Xlog:cds*=off");

        Path dir = archives.directoryIfMade();
        assertThat(dir.getFileName().toString()).startsWith("netrun-cds-" + ProcessHandle.current().pid() + "-");
        archives.deleteAll();
        assertThat(dir).doesNotExist();
        assertThat(archives.plan(true, cp, List.of()).options(0)).as("off once deleted (the JVM is exiting)").isEmpty();
    }

    @Test
    void aPlanThatEndsAfterTheArchivesWereDeletedLeavesNothingBehind() throws IOException {
        ClassDataArchives archives = new ClassDataArchives(tmp, false);
        String cp = jar("app.jar").toString();
        archives.plan(true, cp, List.of());
        ClassDataArchives.Plan recording = archives.plan(true, cp, List.of());
        Path training = Path.of(recording.options(0).get(0).substring("-XX:ArchiveClassesAtExit=".length()));
        archives.deleteAll(); // the shutdown hook runs while a pool is still closing
        recording.finish(0); // its child left normally, but there is no directory any more
        recording.giveUp();
        assertThat(training).doesNotExist();
        assertThat(archives.directoryIfMade()).isNull();
    }

    @Test
    void givingUpRemovesTheArchiveAndEndsArchivesForThoseSettings() throws IOException {
        ClassDataArchives archives = new ClassDataArchives(tmp, false);
        String cp = jar("app.jar").toString();
        archives.plan(true, cp, List.of());
        ClassDataArchives.Plan recording = archives.plan(true, cp, List.of());
        Path training = Path.of(recording.options(0).get(0).substring("-XX:ArchiveClassesAtExit=".length()));
        Files.write(training, new byte[]{1});
        recording.finish(0);
        ClassDataArchives.Plan sharing = archives.plan(true, cp, List.of());
        Path archive = Path.of(sharing.options(0).get(0).substring("-XX:SharedArchiveFile=".length()));
        assertThat(archive).isRegularFile();
        sharing.giveUp(); // a child could not start with it
        assertThat(archive).doesNotExist();
        for (int i = 0; i < 3; i++) {
            assertThat(archives.plan(true, cp, List.of()).options(0)).isEmpty();
        }
        archives.deleteAll();
    }

    @Test
    void aFailedTrainingIsRetriedOnceThenArchivesAreGivenUp() throws IOException {
        ClassDataArchives archives = new ClassDataArchives(tmp, false);
        String cp = jar("app.jar").toString();
        archives.plan(true, cp, List.of());
        ClassDataArchives.Plan first = archives.plan(true, cp, List.of());
        assertThat(first.trains()).isTrue();
        first.finish(1); // the child failed: no archive
        ClassDataArchives.Plan second = archives.plan(true, cp, List.of());
        assertThat(second.trains()).isTrue();
        Path training = Path.of(second.options(0).get(0).substring("-XX:ArchiveClassesAtExit=".length()));
        Files.write(training, new byte[]{1});
        second.finish(null); // killed: never exited normally, so what it wrote does not count
        assertThat(training).doesNotExist();
        ClassDataArchives.Plan third = archives.plan(true, cp, List.of());
        assertThat(third.trains()).isFalse();
        assertThat(third.options(0)).isEmpty();
        archives.deleteAll();
    }

    @Test
    void directoriesWhoseLockNobodyHoldsAreRemovedOthersKept() throws Exception {
        ClassDataArchives other = new ClassDataArchives(tmp, false); // another holder, as a live JVM would be
        String cp = jar("app.jar").toString();
        other.plan(true, cp, List.of());
        other.plan(true, cp, List.of());
        Path othersDir = other.directoryIfMade();
        Path abandoned = Files.createDirectory(tmp.resolve("netrun-cds-12345-abc"));
        Files.createFile(abandoned.resolve("lock"));
        Files.write(abandoned.resolve("k.jsa"), new byte[]{1});
        Path live = Files.createDirectory(tmp.resolve("netrun-cds-12346-def"));
        Path unlocked = Files.createDirectory(tmp.resolve("netrun-cds-12347-ghi")); // no lock file yet: being made
        try (FileChannel held = FileChannel.open(Files.createFile(live.resolve("lock")), StandardOpenOption.WRITE);
             FileLock lock = held.lock()) {
            ClassDataArchives archives = new ClassDataArchives(tmp, false);
            archives.plan(true, cp, List.of());
            assertThat(abandoned).as("nothing made nor removed before a recording").isDirectory();
            assertThat(archives.plan(true, cp, List.of()).trains()).isTrue();
            assertThat(abandoned).doesNotExist();
            assertThat(live).isDirectory();
            assertThat(unlocked).isDirectory();
            assertThat(othersDir).isDirectory();
            assertThat(lock.isValid()).isTrue();
            archives.deleteAll();
        }
        other.deleteAll();
        assertThat(othersDir).doesNotExist();
    }

    /** Class path entries of this test run (directories), packed into one jar: archives need jars. */
    private Path appJar() throws IOException, URISyntaxException {
        Path jar = tmp.resolve("netrun-core-and-tests.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            for (Class<?> c : List.of(ClassDataArchives.class, ScriptedWorker.class)) {
                Path root = Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
                try (Stream<Path> files = Files.walk(root)) {
                    for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                        out.putNextEntry(new JarEntry(root.relativize(f).toString().replace(File.separatorChar, '/')));
                        try (var in = Files.newInputStream(f)) {
                            in.transferTo(out);
                        }
                    }
                }
            }
        }
        return jar;
    }

    @Test
    @Tag("slow")
    void aLaterPoolsChildrenLoadTheirClassesFromTheArchiveTheFirstPoolRecorded() throws Exception {
        ClassDataArchives archives = new ClassDataArchives(tmp, false);
        Path jar = appJar();
        Path logs = Files.createDirectory(tmp.resolve("logs"));
        // The same options for both pools (so the same archive), and a class-loading log per child process.
        List<String> options = List.of("-Xlog:class+load=info:file=" + logs.resolve("%p.log"),
                "-XX:ErrorFile=" + logs.resolve("hs_err_%p.log")); // a JVM crash report goes there, not to the cwd

        try (MultiprocessPool pool = builder(jar, options, archives).build()) {
            pool.start(); // the first start of these settings: no archive, no training
            assertThat(commandLine(pool.pid(0))).noneMatch(a -> a.contains("Archive"));
            roundTrip(pool);
        }
        assertThat(archives.directoryIfMade()).isNull();

        long trainer;
        List<OutputEntry> trainerOutput = new java.util.concurrent.CopyOnWriteArrayList<>();
        MultiprocessPool.Builder first = builder(jar, options, archives).onOutput((i, entries) -> trainerOutput.addAll(entries));
        try (MultiprocessPool pool = first.build()) {
            pool.start();
            trainer = pool.pid(0);
            roundTrip(pool);
            assertThat(commandLine(trainer)).anyMatch(a -> a.startsWith("-XX:ArchiveClassesAtExit="));
        }
        // close() delivered everything the children wrote, the archive's dump included: none of the JVM's messages
        assertThat(trainerOutput).isEmpty();
        try (Stream<Path> files = Files.list(archives.directoryIfMade())) {
            assertThat(files.map(p -> p.getFileName().toString()).filter(n -> !n.equals("lock")))
                    .singleElement().satisfies(n -> assertThat(n).endsWith(".jsa").doesNotContain("training"));
        }

        long user;
        try (MultiprocessPool pool = builder(jar, options, archives).build()) {
            pool.start();
            user = pool.pid(1);
            roundTrip(pool);
            assertThat(commandLine(user)).anyMatch(a -> a.startsWith("-XX:SharedArchiveFile="));
            Map<Integer, List<OutputEntry>> out = pool.flushAllStdout(WAIT);
            assertThat(out.values()).as("the JVM's CDS messages are kept out of the output").allMatch(List::isEmpty);
        }
        ChildProcesses.awaitAllGone(List.of(trainer, user));
        String log = Files.readString(logs.resolve(user + ".log"));
        assertThat(log).containsPattern("dev\\.netrun\\.pool\\.ChildMain source: shared objects file")
                .containsPattern("dev\\.netrun\\.pool\\.ScriptedWorker source: shared objects file");

        // A damaged archive: JDK 17 crashes on it, JDK 25 ignores it. Either way the pool starts (again, without
        // the archive, where a child did not start) and nothing of a failed attempt reaches the output.
        Path archive;
        try (Stream<Path> files = Files.list(archives.directoryIfMade())) {
            archive = files.filter(p -> p.toString().endsWith(".jsa")).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(archive);
        Files.delete(archive);
        Files.write(archive, java.util.Arrays.copyOf(bytes, bytes.length / 3));
        List<OutputEntry> output = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (MultiprocessPool pool = builder(jar, options, archives).onOutput((i, entries) -> output.addAll(entries))
                .build()) {
            pool.start();
            roundTrip(pool);
        }
        assertThat(output).isEmpty();
        if (Runtime.version().feature() == 17) {
            assertThat(archive).as("JDK 17's child crashed on it: the pool gave it up").doesNotExist();
            assertThat(archives.plan(true, jar.toString(), options).options(0)).isEmpty();
        }
        archives.deleteAll();
    }

    private static MultiprocessPool.Builder builder(Path jar, List<String> options, ClassDataArchives archives) {
        MultiprocessPool.Builder b = MultiprocessPool.builder(new ScriptedWorker()).numProcesses(2)
                .classPath(jar.toString()).jvmOptions(options);
        b.archives = archives;
        return b;
    }

    private static void roundTrip(MultiprocessPool pool) {
        for (int w = 0; w < pool.numWorkers(); w++) {
            pool.send(w, "echo", "hi " + w);
        }
        for (int w = 0; w < pool.numWorkers(); w++) {
            assertThat(pool.recv(WAIT).data()).asString().startsWith("hi ");
        }
    }

    private static List<String> commandLine(long pid) {
        return ProcessHandle.of(pid).flatMap(h -> h.info().arguments()).map(List::of).orElseThrow();
    }
}
