// Nameless segments on Linux: memfd_create with size seals, and passing a
// descriptor over a connected Unix socket with SCM_RIGHTS (Node cannot send
// descriptors on its own sockets). Same Status convention as shm.h.
#pragma once

#include "shm.h"

namespace shmnet {

// Creates a sealed anonymous file of `size` bytes: pages reserved, then
// F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL so no holder of the descriptor
// can change its size (and so cause SIGBUS in the other peer).
Status MemfdCreate(const char* name, uint64_t size, Handle* out);
// Returns the seals of a memfd (F_GET_SEALS).
Status MemfdSeals(Handle h, int* seals);
// Sends one byte carrying `fd` in SCM_RIGHTS over connected socket `sock`.
Status SendFd(int sock, int fd);
// Receives one byte and the descriptor it carries. Non-blocking:
// EAGAIN when nothing has arrived yet; EBADMSG for a byte without one.
Status RecvFd(int sock, int* fd);

}  // namespace shmnet
