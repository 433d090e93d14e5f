package packet

// liveAction is what the live path does with a packet after a run.
type liveAction uint8

const (
	liveActPass     liveAction = iota // to the peer (bridge), or counted (monitor)
	liveActDrop                       // dropped
	liveActTX                         // back out of the interface it came from
	liveActRedirect                   // out of the interface the redirect names
)

// liveVerdict reads a run's return value as the offline path does (see
// Action): for a packet of which a socket filter saw seen bytes (from the
// network header).
func liveVerdict(k Kind, ret uint32, seen int) Action {
	switch k {
	case XDP:
		return xdpAction(ret)
	case TC:
		return tcAction(ret)
	}
	return socketAction(ret, seen)
}

// liveActionOf is what the live path does for an action: XDP_TX goes back
// out, redirects go where the program said, the actions that let a packet
// continue (Action.Passes) pass it, the others drop it.
func liveActionOf(a Action) liveAction {
	switch {
	case a == XDPTx:
		return liveActTX
	case a == XDPRedirect || a == TCRedirect:
		return liveActRedirect
	case a.Passes():
		return liveActPass
	}
	return liveActDrop
}
