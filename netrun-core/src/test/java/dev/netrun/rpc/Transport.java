package dev.netrun.rpc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/** The socket kinds a {@link StreamChannel} runs over in tests: loopback TCP and Unix domain sockets. */
enum Transport {
    TCP, UNIX;

    /** A listening socket of this kind; {@link #close()} also removes a Unix socket's file. */
    final class Listener implements AutoCloseable {
        final ServerSocketChannel server;
        final SocketAddress address;
        private final Path dir;

        private Listener(ServerSocketChannel server, SocketAddress address, Path dir) {
            this.server = server;
            this.address = address;
            this.dir = dir;
        }

        SocketChannel connect() throws IOException {
            return SocketChannel.open(address);
        }

        @Override
        public void close() throws IOException {
            server.close();
            if (dir != null) {
                Files.deleteIfExists(dir.resolve("s.sock"));
                Files.deleteIfExists(dir);
            }
        }
    }

    Listener listen() throws IOException {
        if (this == TCP) {
            ServerSocketChannel s = ServerSocketChannel.open();
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return new Listener(s, s.getLocalAddress(), null);
        }
        Path dir = Files.createTempDirectory("netrun");
        UnixDomainSocketAddress a = UnixDomainSocketAddress.of(dir.resolve("s.sock"));
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        s.bind(a);
        return new Listener(s, a, dir);
    }

    /** Two connected sockets: [0] the connecting side, [1] the accepted side. */
    SocketChannel[] pair() {
        try (Listener l = listen()) {
            SocketChannel client = l.connect();
            SocketChannel accepted = l.server.accept();
            return new SocketChannel[] {client, accepted};
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
