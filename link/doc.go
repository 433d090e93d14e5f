// Package link attaches waggle programs to hooks: the places in user
// space where programs run on events, as the kernel runs them at its
// hooks. A hook today is the packets of network interfaces (AttachPacket);
// system calls, functions and profiles come next, one file each beside it.
//
// Attaching returns a Link, and the program runs from that moment on its
// own goroutines:
//
//	l, err := link.AttachPacket(coll.Programs["firewall"], link.PacketOptions{Iface: "eth0"})
//	if err != nil {
//		return err
//	}
//	defer l.Close()
//	...
//	fmt.Println(l.Info()) // firewall on eth0 — 1m0s, 1234 packets, 5 dropped, 0 errors
//
// A Link lives until Close, which stops the hook, waits for its goroutines
// and releases what it opened (sockets, processes); Close may be called
// any number of times, from any goroutine. Wait blocks until the hook ends
// by itself (a traced command exits), fails (an interface is removed) or
// is closed, so that a command runs a hook until it ends or is
// interrupted:
//
//	stop := context.AfterFunc(ctx, func() { l.Close() })
//	defer stop()
//	err := l.Wait()
//
// A link holds its programs and their maps without owning them: close the
// Link before the Collection. Info describes every link alike (the hook,
// its target, the programs, their runs and errors, the hook's own counts)
// for status lines, metrics and terminal views; each Link type adds its
// hook's details (PacketLink.Stats). An Observer given at attach time is
// told the outcome of every run (metrics.Program is one).
package link
