// Linux implementation of fdpass.h. Other platforms get ENOSYS stubs and
// keep the named-segment path.
#include "fdpass.h"

#include <errno.h>

#ifdef __linux__
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#endif

namespace shmnet {

static Status Fail(const char* syscall) { return Status{errno, syscall}; }

Status MemfdCreate(const char* name, uint64_t size, Handle* out) {
  int fd = static_cast<int>(syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd < 0) return Fail("memfd_create");
  Status s = HandleReserve(fd, size);
  if (s.err == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) s = Fail("fcntl");
  if (s.err != 0) {
    close(fd);
    return s;
  }
  *out = fd;
  return Ok();
}

Status MemfdSeals(Handle h, int* seals) {
  int r = fcntl(static_cast<int>(h), F_GET_SEALS);
  if (r < 0) return Fail("fcntl");
  *seals = r;
  return Ok();
}

namespace {

// The message both sides use: one byte of payload and room for exactly one
// descriptor. It points into itself, so it is neither copied nor moved.
struct FdMessage {
  char byte;
  struct iovec iov;
  struct msghdr msg;
  // Last: cmsghdr ends in a flexible array member.
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;

  explicit FdMessage(char b) : byte(b) {
    std::memset(&control, 0, sizeof(control));
    std::memset(&msg, 0, sizeof(msg));
    iov.iov_base = &byte;
    iov.iov_len = 1;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
  }
  FdMessage(const FdMessage&) = delete;
  FdMessage& operator=(const FdMessage&) = delete;
};

}  // namespace

Status SendFd(int sock, int fd) {
  FdMessage m('F');
  struct msghdr& msg = m.msg;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  ssize_t n;
  do {
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Fail("sendmsg");
  if (n != 1) return Status{EIO, "sendmsg"};
  return Ok();
}

Status RecvFd(int sock, int* fd) {
  FdMessage m(0);
  struct msghdr& msg = m.msg;
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Fail("recvmsg");
  if (n == 0) return Status{ECONNRESET, "recvmsg"};
  int received = -1;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
      std::memcpy(&received, CMSG_DATA(c), sizeof(int));
    }
  }
  // A truncated control message may have carried more descriptors than we
  // take; the kernel closes those. A byte with no descriptor is a protocol error.
  if (received < 0) return Status{EBADMSG, "recvmsg"};
  *fd = received;
  return Ok();
}

}  // namespace shmnet

#else  // !__linux__

namespace shmnet {
Status MemfdCreate(const char*, uint64_t, Handle*) { return Status{ENOSYS, "memfd_create"}; }
Status MemfdSeals(Handle, int*) { return Status{ENOSYS, "fcntl"}; }
Status SendFd(int, int) { return Status{ENOSYS, "sendmsg"}; }
Status RecvFd(int, int*) { return Status{ENOSYS, "recvmsg"}; }
}  // namespace shmnet

#endif
