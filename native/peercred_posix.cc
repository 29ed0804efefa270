// POSIX implementation of peercred.h (Windows has no uids; binding.gyp
// leaves this file out there).
#include "peercred.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__APPLE__)
#include <sys/un.h>
#endif

namespace shmnet {

Status PeerCred(int sock, int* pid, int* uid, int* gid) {
#if defined(__linux__)
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return Status{errno, "getsockopt"};
  if (len != sizeof(cred)) return Status{EINVAL, "getsockopt"};
  *pid = static_cast<int>(cred.pid);
  *uid = static_cast<int>(cred.uid);
  *gid = static_cast<int>(cred.gid);
  return Ok();
#elif defined(__APPLE__)
  uid_t u;
  gid_t g;
  if (getpeereid(sock, &u, &g) != 0) return Status{errno, "getpeereid"};
  pid_t p = -1;
  socklen_t len = sizeof(p);
#ifdef LOCAL_PEERPID
  if (getsockopt(sock, SOL_LOCAL, LOCAL_PEERPID, &p, &len) != 0) p = -1;
#endif
  *pid = static_cast<int>(p);
  *uid = static_cast<int>(u);
  *gid = static_cast<int>(g);
  return Ok();
#else
  (void)sock;
  (void)pid;
  (void)uid;
  (void)gid;
  return Status{ENOSYS, "getsockopt"};
#endif
}

}  // namespace shmnet
