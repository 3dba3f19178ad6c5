// Command labcontrol is the control server of the real-tailnet test lab (tests/tailnet).
//
// It is tailscale.com/tstest/integration/testcontrol (the control server
// tailscale's own integration tests use) plus an in-process DERP and STUN
// server, as tstest/integration.RunDERPAndSTUN sets them up, and a small admin
// API on a unix socket that scripts/tailnet-lab drives:
//
//	GET  /nodes                                  every registered node
//	POST /masquerade {"node","peer","addr"}      node appears to peer as addr ("" removes)
//	POST /set-ip     {"node","addr"}             renumber node's IPv4
//	POST /hide       {"node","peer","hidden"}    peer leaves (or rejoins) node's netmap
//
// testcontrol derives a node's own address from its node ID, so the map stream
// is served here (testcontrol's AltMapStream hook) to apply renumbers and
// hidden peers on top of testcontrol's MapResponse.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"

	"tailscale.com/derp/derpserver"
	"tailscale.com/net/stun"
	"tailscale.com/tailcfg"
	"tailscale.com/tstest/integration/testcontrol"
	"tailscale.com/types/key"
)

type pair struct{ node, peer key.NodePublic }

type lab struct {
	s *testcontrol.Server

	mu      sync.Mutex
	streams map[key.NodePublic]chan struct{}
	selfV4  map[key.NodePublic]netip.Addr
	hidden  map[pair]bool
	masq    map[pair]netip.Addr
}

func main() {
	listen := flag.String("listen", "", "control HTTP address (IP:PORT)")
	derpIP := flag.String("derp-ip", "", "IPv4 for DERP (TLS :443) and STUN (:3478)")
	admin := flag.String("admin", "", "unix socket path of the admin API")
	domain := flag.String("domain", "lab.ts.net", "MagicDNS suffix in node names")
	flag.Parse()
	if *listen == "" || *derpIP == "" || *admin == "" {
		log.Fatal("usage: labcontrol -listen IP:PORT -derp-ip IP -admin PATH")
	}
	logf := log.Printf

	// DERP over TLS with a self-signed certificate (InsecureForTests), as integration.RunDERPAndSTUN.
	d := derpserver.New(key.NewNode(), logf)
	dln, err := net.Listen("tcp", net.JoinHostPort(*derpIP, "443"))
	if err != nil {
		log.Fatalf("derp listen: %v", err)
	}
	dsrv := httptest.NewUnstartedServer(derpserver.Handler(d))
	dsrv.Listener.Close()
	dsrv.Listener = dln
	dsrv.StartTLS()

	pc, err := net.ListenPacket("udp4", net.JoinHostPort(*derpIP, "3478"))
	if err != nil {
		log.Fatalf("stun listen: %v", err)
	}
	go serveSTUN(pc.(*net.UDPConn))

	derpMap := &tailcfg.DERPMap{Regions: map[int]*tailcfg.DERPRegion{
		1: {RegionID: 1, RegionCode: "lab", RegionName: "Lab", Nodes: []*tailcfg.DERPNode{{
			Name: "1a", RegionID: 1, HostName: *derpIP, IPv4: *derpIP, IPv6: "none",
			STUNPort: 3478, DERPPort: 443, InsecureForTests: true, STUNTestIP: *derpIP,
		}}},
	}}

	l := &lab{
		streams: map[key.NodePublic]chan struct{}{},
		selfV4:  map[key.NodePublic]netip.Addr{},
		hidden:  map[pair]bool{},
		masq:    map[pair]netip.Addr{},
	}
	l.s = &testcontrol.Server{
		Logf:            logf,
		DERPMap:         derpMap,
		MagicDNSDomain:  *domain,
		AllOnline:       true,
		ExplicitBaseURL: "http://" + *listen,
		AltMapStream:    l.mapStream,
	}
	cln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("control listen: %v", err)
	}
	go func() { log.Fatal(http.Serve(cln, l.s)) }()

	os.Remove(*admin)
	aln, err := net.Listen("unix", *admin)
	if err != nil {
		log.Fatalf("admin listen: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /nodes", l.serveNodes)
	mux.HandleFunc("POST /masquerade", l.serveMasquerade)
	mux.HandleFunc("POST /set-ip", l.serveSetIP)
	mux.HandleFunc("POST /hide", l.serveHide)
	go func() { log.Fatal(http.Serve(aln, mux)) }()
	log.Printf("labcontrol: control http://%s, DERP %s:443, STUN %s:3478, admin %s", *listen, *derpIP, *derpIP, *admin)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	os.Remove(*admin)
}

func serveSTUN(pc *net.UDPConn) {
	var buf [2048]byte
	for {
		n, src, err := pc.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !stun.Is(buf[:n]) {
			continue
		}
		txid, err := stun.ParseBindingRequest(buf[:n])
		if err != nil {
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		pc.WriteToUDPAddrPort(stun.Response(txid, src), src)
	}
}

// kick wakes every map stream except the one of skip (zero: all).
func (l *lab) kick(skip key.NodePublic) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, ch := range l.streams {
		if k == skip {
			continue
		}
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// mapStream replaces testcontrol's serveMap: it records what the client reports
// (endpoints, disco key, Hostinfo) as serveMap does, then streams testcontrol's
// MapResponse with the lab's renumbers and hidden peers applied.
func (l *lab) mapStream(ctx context.Context, w testcontrol.MapStreamWriter, req *tailcfg.MapRequest) {
	nk := req.NodeKey
	if l.s.Node(nk) == nil {
		return
	}
	if !req.ReadOnly && !(req.Stream && req.Version >= 68) {
		l.mu.Lock()
		n := l.s.Node(nk)
		var eps []netip.AddrPort
		for _, ep := range req.Endpoints {
			if ep.Addr().Is4() {
				eps = append(eps, ep)
			}
		}
		n.Endpoints = eps
		n.DiscoKey = req.DiscoKey
		n.Cap = req.Version
		if req.Hostinfo != nil {
			n.Hostinfo = req.Hostinfo.View()
			if ni := req.Hostinfo.NetInfo; ni != nil && ni.PreferredDERP != 0 {
				n.HomeDERP = ni.PreferredDERP
			}
		}
		l.s.UpdateNode(n)
		l.mu.Unlock()
		l.kick(nk)
	}
	if !req.Stream || req.ReadOnly {
		if res := l.response(req); res != nil {
			w.SendMapMessage(res)
		}
		return
	}

	ch := make(chan struct{}, 1)
	l.mu.Lock()
	if old := l.streams[nk]; old != nil {
		close(old)
	}
	l.streams[nk] = ch
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		if l.streams[nk] == ch {
			delete(l.streams, nk)
		}
		l.mu.Unlock()
	}()
	l.kick(nk) // a new node: every other node's netmap gains a peer

	for {
		res := l.response(req)
		if res == nil {
			return
		}
		if err := w.SendMapMessage(res); err != nil {
			return
		}
	wait:
		for {
			t := time.NewTimer(50 * time.Second)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case _, ok := <-ch:
				t.Stop()
				if !ok {
					return
				}
				break wait
			case <-t.C:
				if err := w.SendMapMessage(&tailcfg.MapResponse{KeepAlive: true}); err != nil {
					return
				}
			}
		}
	}
}

func (l *lab) response(req *tailcfg.MapRequest) *tailcfg.MapResponse {
	res, err := l.s.MapResponse(req)
	if err != nil || res == nil {
		return nil
	}
	nk := req.NodeKey
	l.mu.Lock()
	defer l.mu.Unlock()
	if a, ok := l.selfV4[nk]; ok && len(res.Node.Addresses) > 0 {
		p := netip.PrefixFrom(a, 32)
		res.Node.Addresses[0] = p
		if len(res.Node.AllowedIPs) > 0 {
			res.Node.AllowedIPs[0] = p
		}
	}
	var peers []*tailcfg.Node
	var removed []tailcfg.NodeID
	for _, p := range res.Peers {
		if l.hidden[pair{nk, p.Key}] {
			removed = append(removed, p.ID)
		} else {
			peers = append(peers, p)
		}
	}
	res.Peers = peers
	if len(peers) == 0 {
		// An empty Peers is omitted on the wire and means "no change" (tailcfg.MapResponse):
		// say explicitly that the hidden peers are gone.
		res.PeersRemoved = removed
	}
	return res
}

type nodeInfo struct {
	Hostname string `json:"hostname"`
	Name     string `json:"name"`
	ID       int64  `json:"id"`
	StableID string `json:"stable_id"`
	Key      string `json:"key"`
	IPv4     string `json:"ipv4"`
	IPv6     string `json:"ipv6"`
	Online   bool   `json:"streaming"`
}

func (l *lab) nodes() []nodeInfo {
	var out []nodeInfo
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range l.s.AllNodes() {
		ni := nodeInfo{
			Hostname: n.Hostinfo.Hostname(), Name: n.Name, ID: int64(n.ID),
			StableID: string(n.StableID), Key: n.Key.String(),
		}
		for _, a := range n.Addresses {
			if a.Addr().Is4() {
				ni.IPv4 = a.Addr().String()
			} else {
				ni.IPv6 = a.Addr().String()
			}
		}
		if a, ok := l.selfV4[n.Key]; ok {
			ni.IPv4 = a.String()
		}
		_, ni.Online = l.streams[n.Key]
		out = append(out, ni)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hostname < out[j].Hostname })
	return out
}

func (l *lab) nodeKey(hostname string) (key.NodePublic, error) {
	var found []key.NodePublic
	for _, n := range l.s.AllNodes() {
		if n.Hostinfo.Hostname() == hostname {
			found = append(found, n.Key)
		}
	}
	if len(found) != 1 {
		return key.NodePublic{}, fmt.Errorf("%d nodes have hostname %q", len(found), hostname)
	}
	return found[0], nil
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(v); err != nil {
		http.Error(w, "bad JSON: "+err.Error(), 400)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (l *lab) serveNodes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"nodes": l.nodes()})
}

func (l *lab) serveMasquerade(w http.ResponseWriter, r *http.Request) {
	var body struct{ Node, Peer, Addr string }
	if !readJSON(w, r, &body) {
		return
	}
	nk, err := l.nodeKey(body.Node)
	if err != nil {
		http.Error(w, err.Error(), 404)
		return
	}
	pk, err := l.nodeKey(body.Peer)
	if err != nil {
		http.Error(w, err.Error(), 404)
		return
	}
	l.mu.Lock()
	if body.Addr == "" {
		delete(l.masq, pair{nk, pk})
	} else {
		a, err := netip.ParseAddr(body.Addr)
		if err != nil || !a.Is4() {
			l.mu.Unlock()
			http.Error(w, "addr must be an IPv4 address", 400)
			return
		}
		l.masq[pair{nk, pk}] = a
	}
	var pairs []testcontrol.MasqueradePair
	for p, a := range l.masq {
		pairs = append(pairs, testcontrol.MasqueradePair{Node: p.node, Peer: p.peer, NodeMasqueradesAs: a})
	}
	l.s.SetMasqueradeAddresses(pairs)
	l.mu.Unlock()
	l.kick(key.NodePublic{})
	writeJSON(w, map[string]any{"ok": true})
}

func (l *lab) serveSetIP(w http.ResponseWriter, r *http.Request) {
	var body struct{ Node, Addr string }
	if !readJSON(w, r, &body) {
		return
	}
	nk, err := l.nodeKey(body.Node)
	if err != nil {
		http.Error(w, err.Error(), 404)
		return
	}
	a, err := netip.ParseAddr(body.Addr)
	if err != nil || !a.Is4() || !netip.MustParsePrefix("100.64.0.0/10").Contains(a) {
		http.Error(w, "addr must be an IPv4 address in 100.64.0.0/10", 400)
		return
	}
	for _, ni := range l.nodes() {
		if ni.IPv4 == a.String() && ni.Key != nk.String() {
			http.Error(w, "address already in use by "+ni.Hostname, 409)
			return
		}
	}
	l.mu.Lock()
	n := l.s.Node(nk)
	p := netip.PrefixFrom(a, 32)
	n.Addresses[0] = p
	if len(n.AllowedIPs) > 0 {
		n.AllowedIPs[0] = p
	}
	l.s.UpdateNode(n)
	l.selfV4[nk] = a
	l.mu.Unlock()
	l.kick(key.NodePublic{})
	writeJSON(w, map[string]any{"ok": true})
}

func (l *lab) serveHide(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Node, Peer string
		Hidden     bool
	}
	if !readJSON(w, r, &body) {
		return
	}
	nk, err := l.nodeKey(body.Node)
	if err != nil {
		http.Error(w, err.Error(), 404)
		return
	}
	pk, err := l.nodeKey(body.Peer)
	if err != nil {
		http.Error(w, err.Error(), 404)
		return
	}
	l.mu.Lock()
	if body.Hidden {
		l.hidden[pair{nk, pk}] = true
	} else {
		delete(l.hidden, pair{nk, pk})
	}
	l.mu.Unlock()
	l.kick(key.NodePublic{})
	writeJSON(w, map[string]any{"ok": true})
}
