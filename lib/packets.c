/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * packets.c - per-packet verdicts: the user-space client of a filter's
 * NFQUEUE.
 *
 * One netlink socket bound to the queue, copying whole GSO packets (up to
 * 0xffff bytes of them).  Verdicts are batched: each answer is appended to
 * a send buffer that goes out in one sendto when the socket runs dry, the
 * buffer fills or dispatch returns.  Held (DELAY) packets wait in a FIFO
 * ring, oldest first: they share one timeout, so its head is always the
 * next deadline, watched by a timerfd; the kernel numbers packets in the
 * order it sends them, so the ring is sorted by id too and a verdict finds
 * its packet by binary search.
 *
 * Stalls: each dispatch writes a heartbeat that the kernel reads
 * (nf_qbeat); the timerfd also fires a quarter of the timeout after the
 * last beat, so an idle client keeps beating.  A client that goes longer
 * than the timeout without one (stopped, or stuck in a handler) is taken
 * for stalled, and its filter's fail policy applies at connect() and
 * sendmsg() until it beats again (bpf/queue.h); it counts the stall when
 * it comes back.  What it holds meanwhile, unread or delayed, would wait
 * for it in the kernel (a held TCP segment is not even retransmitted), so
 * a watchdog answers it: a child process, forked at the open, sharing
 * only the netlink socket, which sends one batch verdict with the fail
 * policy for every packet queued so far each time it finds the beat
 * stale.  It sits in a process group of its own (a terminal's Ctrl-Z
 * stops the client, not it) and dies with the client (PDEATHSIG, and
 * netfil_packets_close()).
 *
 * Loss: the socket sets NETLINK_NO_ENOBUFS, because an ENOBUFS from recv
 * would say only that something was lost.  The kernel counts each packet
 * it could not queue (queue full: queue_dropped) or deliver (socket full:
 * user_dropped) in /proc/net/netfilter/nfnetlink_queue; stats reads those.
 * Under fail open the kernel accepts such packets instead, uncounted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/timerfd.h>
#include <linux/netfilter.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include "netfil_abi.h"
#include "queue.h"

#define PQ_SLOT		(0x10000 + 4096)	/* one message: 0xffff of packet, attributes */
#define PQ_SLOTS	8			/* messages per recvmmsg */
#define PQ_BURST	1024			/* packets per dispatch: the caller's loop stays fair */
#define PQ_SENDBUF	(64 * 1024)
#define PQ_VERDICT_MAX	64			/* one verdict message, with a mark */
#define PQ_RING		65536u			/* held slots, a power of two */
#define PQ_HELD_MAX	49152
#define PQ_QMAXLEN	65536			/* the kernel's cap */
#define PQ_RCVBUF	(8 << 20)
#define PQ_ACK_MS	5000
#define PQ_IFCACHE	32
#define PQ_OWNERS	1024			/* cached TCP owners, a power of two */
#define PQ_OWNER_NS	(1000 * NS_PER_MS)	/* ... each trusted this long */
#define NS_PER_MS	1000000ull
#define NS_PER_SEC	1000000000ull

struct pq_held {
	uint32_t id, mark;
	uint64_t deadline;	/* CLOCK_MONOTONIC ns; 0: answered */
};

struct pq_owner {
	uint8_t family, pad;
	uint16_t lport, rport;	/* host order */
	uint8_t laddr[16], raddr[16];
	uint64_t at;		/* looked up then; the key ends here */
	uint32_t pid, tgid, uid;
	uint64_t sock_id;
	char comm[16];
};

struct pq_ifname {
	uint32_t ifindex;
	uint64_t at;		/* looked up then: a renamed device shows within 1 s */
	char name[IF_NAMESIZE];
};

struct netfil_packets {
	struct netfil *nf;
	uint32_t filter;
	netfil_packet_fn fn;
	void *ctx;
	struct nf_queue_info qi;
	struct mnl_socket *nl;
	int fd, epfd, tfd, live_fd;
	FILE *proc;
	uint32_t seq;
	int ack_err;		/* the config message's answer; 1: none yet */
	bool bound, closing, in_dispatch;
	uint64_t now, armed;	/* the timerfd's deadline; 0: not armed */
	uint64_t refused0, passed0;	/* the kernel's counts at the open */
	pid_t dog;		/* the watchdog; 0: none */
	uint32_t *last_id;	/* shared with it: the newest packet's id */
	struct pq_held *ring;
	uint32_t head, tail;	/* ring[head..tail), free running */
	struct pq_ifname ifc[PQ_IFCACHE];
	struct pq_owner *owners;
	struct netfil_packets_stats st;
	size_t sent;		/* bytes waiting in sbuf */
	char *sbuf, *rbuf;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static int sys(long r)
{
	return r < 0 ? -errno : 0;
}

static enum netfil_verdict fail_verdict(const struct netfil_packets *pq)
{
	return pq->qi.fail == NETFIL_FAIL_OPEN ? NETFIL_V_ALLOW : NETFIL_V_DROP;
}

static struct pq_held *slot(struct netfil_packets *pq, uint32_t i)
{
	return &pq->ring[i & (PQ_RING - 1)];
}

/* What a handler or netfil_packets_verdict() may answer at last. */
static bool final(enum netfil_verdict v)
{
	return v == NETFIL_V_ALLOW || v == NETFIL_V_DROP || v == NETFIL_V_ALLOW_FLOW;
}

static int flush(struct netfil_packets *pq)
{
	size_t len = pq->sent;

	pq->sent = 0;
	if (!len)
		return 0;
	return sys(mnl_socket_sendto(pq->nl, pq->sbuf, len));
}

/* Queue the final answer for packet id: allowed or dropped. */
static int answer(struct netfil_packets *pq, uint32_t id, uint32_t mark, enum netfil_verdict v)
{
	uint32_t m = pq->qi.flow_mask;
	struct nlmsghdr *nlh;
	int err = 0;

	if (pq->sent + PQ_VERDICT_MAX > PQ_SENDBUF)
		err = flush(pq);
	nlh = nfq_nlmsg_put(pq->sbuf + pq->sent, NFQNL_MSG_VERDICT, pq->qi.qnum);
	nfq_nlmsg_verdict_put(nlh, (int)id, v == NETFIL_V_DROP ? NF_DROP : NF_ACCEPT);
	if (v == NETFIL_V_ALLOW_FLOW)
		nfq_nlmsg_verdict_put_mark(nlh, (mark & ~m) | m);
	pq->sent += nlh->nlmsg_len;
	if (v == NETFIL_V_DROP)
		pq->st.dropped++;
	else
		pq->st.allowed++;
	return err;
}

/* Hold packet id, or answer with the fail policy when there is no room
 * (or, against the kernel's numbering, its id is not the newest). */
static int hold(struct netfil_packets *pq, uint32_t id, uint32_t mark)
{
	uint32_t used = pq->tail - pq->head;
	struct pq_held *h = slot(pq, pq->tail - 1);

	if (pq->st.held >= PQ_HELD_MAX || used == PQ_RING || (used && (int32_t)(id - h->id) <= 0))
		return answer(pq, id, mark, fail_verdict(pq));
	h = slot(pq, pq->tail++);
	h->id = id;
	h->mark = mark;
	h->deadline = pq->now + pq->qi.timeout_ms * NS_PER_MS;
	pq->st.held++;
	pq->st.delayed++;
	return 0;
}

static struct pq_held *find(struct netfil_packets *pq, uint32_t id)
{
	uint32_t lo = pq->head, hi = pq->tail;

	while (lo != hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		struct pq_held *h = slot(pq, mid);
		int32_t d = (int32_t)(h->id - id);

		if (!d)
			return h->deadline ? h : NULL;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Drop answered slots off the head; held packets past their deadline (all
 * of them when closing) get the fail policy. */
static int expire(struct netfil_packets *pq, bool all)
{
	int err = 0;

	for (; pq->head != pq->tail; pq->head++) {
		struct pq_held *h = slot(pq, pq->head);

		if (!h->deadline)
			continue;
		if (!all && h->deadline > pq->now)
			break;
		err = answer(pq, h->id, h->mark, fail_verdict(pq)) ?: err;
		h->deadline = 0;
		pq->st.held--;
		pq->st.timed_out += !all;
	}
	return err;
}

static uint64_t last_beat(const struct netfil_packets *pq)
{
	return __atomic_load_n(&pq->qi.beat->beat_ns, __ATOMIC_ACQUIRE);
}

/* Older than the timeout at now: the client has stalled, for the kernel
 * (q_stale) and the watchdog alike. */
static bool stale(const struct netfil_packets *pq, uint64_t now)
{
	return (int64_t)(now - last_beat(pq)) > (int64_t)(pq->qi.timeout_ms * NS_PER_MS);
}

/* The heartbeat, at pq->now; a gap over the timeout was a stall. */
static void beat(struct netfil_packets *pq)
{
	if (stale(pq, pq->now)) {
		pq->st.stalls++;
		pq->st.stalled_ms += (pq->now - last_beat(pq)) / NS_PER_MS;
	}
	__atomic_store_n(&pq->qi.beat->beat_ns, pq->now, __ATOMIC_RELEASE);
}

/* Arm the timerfd for the oldest held packet (expire() left it at the
 * head), or the next heartbeat if that comes first. */
static int arm(struct netfil_packets *pq)
{
	uint64_t want = last_beat(pq) + pq->qi.timeout_ms * NS_PER_MS / 4;
	uint64_t held = pq->head != pq->tail ? slot(pq, pq->head)->deadline : 0;

	if (held && held < want)
		want = held;
	/* an earlier wake does no harm (it beats, and arms again): only a
	 * later one would, so most dispatches need no syscall here */
	if (pq->armed && pq->armed <= want)
		return 0;
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(want / NS_PER_SEC),
			      .tv_nsec = (long)(want % NS_PER_SEC) },
	};

	if (want == pq->armed)
		return 0;
	pq->armed = want;
	return sys(timerfd_settime(pq->tfd, TFD_TIMER_ABSTIME, &its, NULL));
}

static void ifname(struct netfil_packets *pq, uint32_t ifindex, char *name)
{
	struct pq_ifname *c = &pq->ifc[ifindex % PQ_IFCACHE];

	if (c->ifindex != ifindex || pq->now - c->at > NS_PER_SEC) {
		if (!if_indextoname(ifindex, c->name))
			c->name[0] = '\0';
		c->ifindex = ifindex;
		c->at = pq->now;
	}
	memcpy(name, c->name, IF_NAMESIZE);
}

/* Addresses, protocol and ports from the IP header on; IPv6 extension
 * headers end the parse (no ports). */
void nf_packet_parse(struct netfil_packet *p)
{
	const uint8_t *d = p->data;
	uint32_t hl;

	if (p->caplen >= 20 && d[0] >> 4 == 4) {
		hl = (d[0] & 15u) * 4;
		p->family = AF_INET;
		p->proto = d[9];
		memcpy(p->saddr, d + 12, 4);
		memcpy(p->daddr, d + 16, 4);
		if (((d[6] & 0x1f) | d[7]) || hl < 20)
			return;		/* a later fragment: no L4 header */
	} else if (p->caplen >= 40 && d[0] >> 4 == 6) {
		hl = 40;
		p->family = AF_INET6;
		p->proto = d[6];
		memcpy(p->saddr, d + 8, 16);
		memcpy(p->daddr, d + 24, 16);
	} else {
		return;
	}
	if ((p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) || p->caplen < hl + 14)
		return;
	d += hl;
	p->sport = (uint16_t)(d[0] << 8 | d[1]);
	p->dport = (uint16_t)(d[2] << 8 | d[3]);
	if (p->proto == IPPROTO_TCP)
		p->flow_new = (d[13] & 0x12) == 0x02;	/* SYN without ACK */
}

/* A TCP connection's local socket, from the cache: its owner cannot
 * change before a new SYN on the same ports, which looks it up afresh. */
static struct pq_owner *owner_slot(struct netfil_packets *pq, const struct netfil_packet *p,
				   bool out, struct pq_owner *key)
{
	uint32_t h = 2166136261u;
	size_t i;

	memset(key, 0, sizeof(*key));
	key->family = (uint8_t)p->family;
	memcpy(key->laddr, out ? p->saddr : p->daddr, 16);
	memcpy(key->raddr, out ? p->daddr : p->saddr, 16);
	key->lport = out ? p->sport : p->dport;
	key->rport = out ? p->dport : p->sport;
	for (i = 0; i < offsetof(struct pq_owner, at); i++)
		h = (h ^ ((const uint8_t *)key)[i]) * 16777619u;
	return &pq->owners[h & (PQ_OWNERS - 1)];
}

/* The packet's local socket and its owner (nf_queue_attr: a BPF socket
 * lookup, a syscall), for TCP through the cache while it is fresh. */
static void owner(struct netfil_packets *pq, struct netfil_packet *p, bool syn)
{
	struct pq_owner key, *c = NULL;

	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return;
	if (p->proto == IPPROTO_TCP && p->sport && p->dport) {
		c = owner_slot(pq, p, p->dir == NETFIL_OUT, &key);
		if (!syn && pq->now - c->at < PQ_OWNER_NS &&
		    !memcmp(c, &key, offsetof(struct pq_owner, at))) {
			p->has_sock = true;
			p->pid = c->pid;
			p->tgid = c->tgid;
			p->uid = c->uid;
			p->sock_id = c->sock_id;
			memcpy(p->comm, c->comm, sizeof(p->comm));
			pq->st.cached++;
			return;
		}
	}
	if (nf_queue_attr(pq->nf, p)) {
		p->has_sock = false;
		return;
	}
	if (!c)
		return;
	*c = key;
	c->at = pq->now;
	c->pid = p->pid;
	c->tgid = p->tgid;
	c->uid = p->uid;
	c->sock_id = p->sock_id;
	memcpy(c->comm, p->comm, sizeof(c->comm));
}

static int packet(struct netfil_packets *pq, const struct nlmsghdr *nlh)
{
	struct nlattr *a[NFQA_MAX + 1] = { NULL };
	struct netfil_packet p = { .filter = pq->filter };
	const struct nfqnl_msg_packet_hdr *ph;
	const struct nlattr *dev;
	enum netfil_verdict v;
	uint32_t mark;

	if (nfq_nlmsg_parse(nlh, a) < 0 || !a[NFQA_PACKET_HDR])
		return 0;	/* no id: nothing to answer */
	ph = mnl_attr_get_payload(a[NFQA_PACKET_HDR]);
	p.id = ntohl(ph->packet_id);
	__atomic_store_n(pq->last_id, p.id, __ATOMIC_RELAXED);
	mark = a[NFQA_MARK] ? ntohl(mnl_attr_get_u32(a[NFQA_MARK])) : 0;
	pq->st.packets++;
	if (pq->closing)
		return answer(pq, p.id, mark, fail_verdict(pq));
	p.dir = ph->hook == NF_INET_LOCAL_IN || ph->hook == NF_INET_PRE_ROUTING ? NETFIL_IN :
										  NETFIL_OUT;
	dev = a[p.dir == NETFIL_OUT ? NFQA_IFINDEX_OUTDEV : NFQA_IFINDEX_INDEV];
	if (dev) {
		p.ifindex = ntohl(mnl_attr_get_u32(dev));
		ifname(pq, p.ifindex, p.ifname);
	}
	if (a[NFQA_PAYLOAD]) {
		p.data = mnl_attr_get_payload(a[NFQA_PAYLOAD]);
		p.caplen = mnl_attr_get_payload_len(a[NFQA_PAYLOAD]);
		nf_packet_parse(&p);
	}
	/* CAP_LEN comes only when the copy was cut short */
	p.len = a[NFQA_CAP_LEN] ? ntohl(mnl_attr_get_u32(a[NFQA_CAP_LEN])) : p.caplen;
	owner(pq, &p, p.flow_new);	/* the packet's own SYN bit */
	p.flow_new = p.flow_new || pq->qi.mode == NETFIL_QUEUE_NEW;
	v = pq->fn(&p, pq->ctx);
	if (v == NETFIL_V_DELAY)
		return hold(pq, p.id, mark);
	if (!final(v))
		v = fail_verdict(pq);
	return answer(pq, p.id, mark, v);
}

/* The messages of one datagram: packets, and the ACK of a config message
 * (errors for verdicts come as unasked ACKs too; they carry no seq of ours). */
static int walk(struct netfil_packets *pq, const void *buf, int len, int *handled)
{
	const struct nlmsghdr *nlh;
	int err = 0;

	for (nlh = buf; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (nlh->nlmsg_type == NLMSG_ERROR && pq->ack_err > 0 && nlh->nlmsg_seq == pq->seq &&
		    mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct nlmsgerr)) {
			pq->ack_err = ((const struct nlmsgerr *)mnl_nlmsg_get_payload(nlh))->error;
		} else if (nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) {
			err = packet(pq, nlh) ?: err;
			(*handled)++;
		}
	}
	return err;
}

/* Read until the socket runs dry or max packets were handled. */
static int receive(struct netfil_packets *pq, int max)
{
	struct mmsghdr mm[PQ_SLOTS];
	struct iovec iov[PQ_SLOTS];
	int i, n, err = 0, handled = 0;

	for (i = 0; i < PQ_SLOTS; i++) {
		iov[i] = (struct iovec){ pq->rbuf + (size_t)i * PQ_SLOT, PQ_SLOT };
		mm[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	while (handled < max) {
		n = recvmmsg(pq->fd, mm, PQ_SLOTS, MSG_DONTWAIT, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? err ?: handled : -errno;
		for (i = 0; i < n; i++)
			err = walk(pq, iov[i].iov_base, (int)mm[i].msg_len, &handled) ?: err;
		if (n < PQ_SLOTS)
			break;	/* a short read: the socket is dry */
	}
	return err ?: handled;
}

int netfil_packets_dispatch(struct netfil_packets *pq)
{
	uint64_t fired;
	int n, err;

	pq->now = now_ns();
	/* one-shot: once past, it has to be armed again (and read, so that
	 * the fd stops polling readable) */
	if (pq->armed && pq->now >= pq->armed &&
	    read(pq->tfd, &fired, sizeof(fired)) == sizeof(fired))
		pq->armed = 0;
	beat(pq);
	pq->in_dispatch = true;
	err = expire(pq, false);
	n = receive(pq, PQ_BURST);
	err = expire(pq, false) ?: err;	/* the handlers' answers off the head, for arm() */
	pq->in_dispatch = false;
	err = flush(pq) ?: arm(pq) ?: err;
	return n < 0 ? n : err ?: n;
}

/* The answer to a held packet.  Outside a dispatch it is sent at once;
 * from a handler it joins the dispatch's batch. */
int netfil_packets_verdict(struct netfil_packets *pq, uint32_t id, enum netfil_verdict v)
{
	struct pq_held *h;
	int err;

	if (!final(v))
		return -EINVAL;
	h = find(pq, id);
	if (!h)
		return -ENOENT;
	err = answer(pq, h->id, h->mark, v);
	h->deadline = 0;
	pq->st.held--;
	if (pq->in_dispatch)
		return err;
	pq->now = now_ns();
	beat(pq);
	err = expire(pq, false) ?: err;
	return flush(pq) ?: arm(pq) ?: err;
}

/* Our queue's line in the proc file: its loss counters.  -ENOENT: no
 * process holds the queue. */
static int proc_queue(FILE *f, uint16_t qnum, uint64_t *lost)
{
	unsigned int q, portid, total, mode, range, qdrop, udrop;
	char line[128];

	if (!f)
		return -ENOENT;
	rewind(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %u %u %u %u %u %u", &q, &portid, &total, &mode, &range,
			   &qdrop, &udrop) == 7 && q == qnum) {
			*lost = (uint64_t)qdrop + udrop;
			return 0;
		}
	return -ENOENT;
}

void netfil_packets_stats(const struct netfil_packets *pq, struct netfil_packets_stats *st)
{
	*st = pq->st;
	proc_queue(pq->proc, pq->qi.qnum, &st->lost);
	st->refused = __atomic_load_n(&pq->qi.beat->refused, __ATOMIC_RELAXED) - pq->refused0;
	st->passed = __atomic_load_n(&pq->qi.beat->passed, __ATOMIC_RELAXED) - pq->passed0;
}

int netfil_packets_fd(const struct netfil_packets *pq)
{
	return pq->epfd;
}

/* Send one config message and wait for its ACK.  Packets can come first
 * (the queue is live from the bind on): they are dispatched as usual. */
static int configure(struct netfil_packets *pq, struct nlmsghdr *nlh)
{
	struct pollfd pfd = { .fd = pq->fd, .events = POLLIN };
	uint64_t end = now_ns() + PQ_ACK_MS * NS_PER_MS;
	int err;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++pq->seq;
	pq->ack_err = 1;
	err = sys(mnl_socket_sendto(pq->nl, nlh, nlh->nlmsg_len));
	while (!err && pq->ack_err > 0) {
		uint64_t now = now_ns();

		if (now >= end)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)((end - now) / NS_PER_MS) + 1) < 0 && errno != EINTR)
			return -errno;
		err = netfil_packets_dispatch(pq);
		err = err < 0 ? err : 0;
	}
	return err ?: pq->ack_err;
}

static int epoll_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return sys(epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev));
}

static int sockets(struct netfil_packets *pq)
{
	int one = 1, size = PQ_RCVBUF;

	pq->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!pq->nl || mnl_socket_bind(pq->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	pq->fd = mnl_socket_get_fd(pq->nl);
	/* a burst of large packets must not find the socket full */
	if (setsockopt(pq->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(pq->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	/* the kernel's ACK of a failed verdict needs no copy of it */
	setsockopt(pq->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	pq->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	pq->epfd = epoll_create1(EPOLL_CLOEXEC);
	pq->proc = fopen("/proc/net/netfilter/nfnetlink_queue", "re");
	return sys(setsockopt(pq->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one))) ?:
	       sys(pq->tfd) ?: sys(pq->epfd) ?: epoll_add(pq->epfd, pq->fd) ?:
	       epoll_add(pq->epfd, pq->tfd);
}

static int bind_queue(struct netfil_packets *pq)
{
	uint32_t flags = NFQA_CFG_F_GSO | (pq->qi.fail == NETFIL_FAIL_OPEN ? NFQA_CFG_F_FAIL_OPEN : 0);
	uint64_t lost;
	char buf[256] = { 0 };	/* the library leaves padding as it finds it */
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, pq->qi.qnum);
	int err;

	/* One message: the kernel checks the flags before it binds, so a
	 * refused setting leaves no queue behind. */
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, PQ_QMAXLEN);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
	err = configure(pq, nlh);
	/* EPERM: another socket holds the queue (or we lack CAP_NET_ADMIN) */
	if (err == -EPERM && !proc_queue(pq->proc, pq->qi.qnum, &lost))
		err = -EBUSY;
	pq->bound = !err;
	return err;
}

/* The watchdog's life: every quarter of the timeout, if the client's beat
 * is older than the timeout, the fail policy's verdict for every packet
 * up to well past the newest one it read (ids are sequence numbers: the
 * kernel compares them modulo 2^32).  No allocation: it was forked. */
static void __attribute__((noreturn)) watch(struct netfil_packets *pq, pid_t parent)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timespec period = { .tv_sec = pq->qi.timeout_ms / 4000,
				   .tv_nsec = (long)(pq->qi.timeout_ms % 4000) * 250000 };
	uint32_t v = fail_verdict(pq) == NETFIL_V_DROP ? NF_DROP : NF_ACCEPT;
	char buf[128] __attribute__((aligned(4))) = { 0 };
	struct nlmsghdr *nlh;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	setpgid(0, 0);
	/* only the netlink socket: the client's other files are not ours to
	 * keep open (nf_qlive's socket must close with the client) */
	if (pq->fd > 0)
		close_range(0, (unsigned int)pq->fd - 1, 0);
	close_range((unsigned int)pq->fd + 1, ~0u, 0);
	for (;;) {
		nanosleep(&period, NULL);
		if (!stale(pq, now_ns()))
			continue;
		nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT_BATCH, pq->qi.qnum);
		nfq_nlmsg_verdict_put(nlh, (int)(__atomic_load_n(pq->last_id, __ATOMIC_RELAXED) +
						 0x40000000u), (int)v);
		sendto(pq->fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	}
}

static int watchdog(struct netfil_packets *pq)
{
	pid_t parent = getpid();

	pq->dog = fork();
	if (pq->dog < 0) {
		pq->dog = 0;
		return -errno;
	}
	if (!pq->dog)
		watch(pq, parent);
	return 0;
}

int netfil_packets_open(struct netfil *nf, uint32_t filter_id, netfil_packet_fn fn, void *ctx,
			struct netfil_packets **pqp)
{
	struct netfil_packets *pq;
	int err;

	*pqp = NULL;
	if (!fn)
		return -EINVAL;
	pq = calloc(1, sizeof(*pq));
	if (!pq)
		return -ENOMEM;
	*pq = (struct netfil_packets){ .nf = nf, .filter = filter_id, .fn = fn, .ctx = ctx,
				       .fd = -1, .epfd = -1, .tfd = -1, .live_fd = -1 };
	err = nf_queue_client(nf, filter_id, &pq->qi, &pq->live_fd);
	if (err)
		goto fail;
	if (!pq->qi.timeout_ms)
		pq->qi.timeout_ms = NETFIL_QUEUE_TIMEOUT_MS;
	pq->refused0 = __atomic_load_n(&pq->qi.beat->refused, __ATOMIC_RELAXED);
	pq->passed0 = __atomic_load_n(&pq->qi.beat->passed, __ATOMIC_RELAXED);
	pq->ring = calloc(PQ_RING, sizeof(*pq->ring));
	pq->owners = calloc(PQ_OWNERS, sizeof(*pq->owners));
	pq->sbuf = malloc(PQ_SENDBUF);
	pq->rbuf = malloc((size_t)PQ_SLOTS * PQ_SLOT);
	pq->last_id = mmap(NULL, sizeof(*pq->last_id), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pq->last_id == MAP_FAILED)
		pq->last_id = NULL;
	err = !pq->ring || !pq->owners || !pq->sbuf || !pq->rbuf || !pq->last_id ? -ENOMEM :
	      sockets(pq) ?: bind_queue(pq) ?: watchdog(pq);
	if (err)
		goto fail;
	*pqp = pq;
	return 0;
fail:
	netfil_packets_close(pq);
	return err;
}

void netfil_packets_close(struct netfil_packets *pq)
{
	char buf[128] = { 0 };
	struct nlmsghdr *nlh;

	if (!pq)
		return;
	if (pq->dog) {
		kill(pq->dog, SIGKILL);
		waitpid(pq->dog, NULL, 0);
	}
	if (pq->bound) {
		/* what the kernel still holds at the unbind it drops: answer
		 * the held packets and those waiting in the socket first */
		pq->closing = true;
		expire(pq, true);
		receive(pq, PQ_HELD_MAX);
		flush(pq);
		nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, pq->qi.qnum);
		nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
		mnl_socket_sendto(pq->nl, nlh, nlh->nlmsg_len);
	}
	if (pq->nl)
		mnl_socket_close(pq->nl);
	if (pq->proc)
		fclose(pq->proc);
	if (pq->tfd >= 0)
		close(pq->tfd);
	if (pq->epfd >= 0)
		close(pq->epfd);
	if (pq->live_fd >= 0)
		close(pq->live_fd);
	if (pq->qi.beat_map)
		munmap(pq->qi.beat_map, pq->qi.beat_len);
	if (pq->last_id)
		munmap(pq->last_id, sizeof(*pq->last_id));
	free(pq->ring);
	free(pq->owners);
	free(pq->sbuf);
	free(pq->rbuf);
	free(pq);
}
