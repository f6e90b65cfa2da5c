/* The delay line of bench/netns.py, for a kernel without sch_netem: every packet this
   namespace sends is queued by iptables to NFQUEUE 0, and accepted argv[1] ns after it was
   queued. The packet waits in the kernel (TCP runs end to end); the wait is timed from user
   space (SCHED_FIFO, 1 ns timer slack), which adds a wake-up's jitter and some CPU. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#define N (1 << 18)
static int fd; static uint32_t ids[N]; static int64_t due[N];
static int64_t now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
static void msg(int type, int attr, const void *data, int len) {
  char buf[64] = {0}; struct nlmsghdr *h = (void *)buf; struct nfgenmsg *g = NLMSG_DATA(h);
  struct nlattr *a = (void *)(buf + NLMSG_LENGTH(sizeof *g));
  h->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type; h->nlmsg_flags = NLM_F_REQUEST;
  g->nfgen_family = AF_UNSPEC; g->version = NFNETLINK_V0; g->res_id = htons(0);
  a->nla_type = attr; a->nla_len = NLA_HDRLEN + len; memcpy((char *)a + NLA_HDRLEN, data, len);
  h->nlmsg_len = NLMSG_LENGTH(sizeof *g) + NLA_ALIGN(a->nla_len);
  if (send(fd, buf, h->nlmsg_len, 0) < 0) { perror("send"); exit(1); }
}
int main(int argc, char **argv) {
  int64_t delay = atoll(argv[1]); int head = 0, tail = 0, size = 16 << 20; char buf[8192];
  struct sched_param sp = {.sched_priority = 10}; sched_setscheduler(0, SCHED_FIFO, &sp);
  prctl(PR_SET_TIMERSLACK, 1);
  fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  struct sockaddr_nl me = {.nl_family = AF_NETLINK}; bind(fd, (void *)&me, sizeof me);
  struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_INET)};
  struct nfqnl_msg_config_params params = {.copy_range = 0, .copy_mode = NFQNL_COPY_META};
  uint32_t maxlen = htonl(N / 2);
  msg(NFQNL_MSG_CONFIG, NFQA_CFG_CMD, &cmd, sizeof cmd);
  msg(NFQNL_MSG_CONFIG, NFQA_CFG_PARAMS, &params, sizeof params);
  msg(NFQNL_MSG_CONFIG, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof maxlen);
  puts("ready"); fflush(stdout);
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0}; struct timespec w, *wp = NULL;
    if (head != tail) { int64_t d = due[head] - now(); d = d < 0 ? 0 : d; w.tv_sec = d / 1000000000; w.tv_nsec = d % 1000000000; wp = &w; }
    ppoll(&p, 1, wp, NULL);
    for (int n; (n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0 || (n < 0 && errno == ENOBUFS);) {
      int64_t at = now() + delay;
      for (struct nlmsghdr *h = (void *)buf; n > 0 && NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
        if ((h->nlmsg_type & 0xff) != NFQNL_MSG_PACKET) continue;
        struct nlattr *a = (void *)((char *)NLMSG_DATA(h) + NLA_ALIGN(sizeof(struct nfgenmsg)));
        for (; (char *)a < (char *)h + h->nlmsg_len; a = (void *)((char *)a + NLA_ALIGN(a->nla_len)))
          if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR) {
            ids[tail] = ntohl(((struct nfqnl_msg_packet_hdr *)((char *)a + NLA_HDRLEN))->packet_id);
            due[tail] = at; tail = (tail + 1) % N; break;
          }
      }
    }
    int64_t t = now(); int last = -1;  /* ids rise and the delay is constant: accept in batches */
    while (head != tail && due[head] <= t) { last = head; head = (head + 1) % N; }
    if (last >= 0) { struct nfqnl_msg_verdict_hdr v = {htonl(NF_ACCEPT), htonl(ids[last])};
                     msg(NFQNL_MSG_VERDICT_BATCH, NFQA_VERDICT_HDR, &v, sizeof v); }
  }
}
