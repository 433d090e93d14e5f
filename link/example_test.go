package link_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/link"
)

// A firewall attached to eth0 until Ctrl-C, then its counts. (Not run by
// go test: it needs root and an interface.)
func ExampleAttachPacket() {
	spec, err := waggle.LoadCollectionSpec("examples/firewall/firewall.o")
	if err != nil {
		panic(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		panic(err)
	}
	defer coll.Close()

	l, err := link.AttachPacket(coll.Programs["firewall"], link.PacketOptions{Iface: "eth0"})
	if err != nil {
		panic(err)
	}
	defer l.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	detach := context.AfterFunc(ctx, func() { l.Close() })
	defer detach()
	if err := l.Wait(); err != nil {
		fmt.Println("the hook failed:", err)
	}
	fmt.Println(l.Info())
	fmt.Print(l.Stats())
}
