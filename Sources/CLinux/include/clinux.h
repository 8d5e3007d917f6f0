// Thin shims for what Glibc does not export to Swift: variadic calls (prctl), macros that need
// _GNU_SOURCE (struct ucred, accept4), epoll, eventfd and posix_spawn's setsid flag.
#ifndef TOKEND_CLINUX_H
#define TOKEND_CLINUX_H
#include <stdint.h>
#include <sys/types.h>

int tk_set_dumpable(int on);
int tk_get_dumpable(void);
int tk_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid);
int tk_accept(int fd);
int tk_socket_unix(void);
int tk_bind_unix(int fd, const char *path);
int tk_connect_unix(int fd, const char *path);
int tk_epoll_create(void);
int tk_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
int tk_epoll_wait(int epfd, uint64_t *data, uint32_t *events, int max, int timeout_ms);
int tk_eventfd(void);
int tk_signalfd_for_termination(void);
int tk_signalfd_read(int fd);
int tk_raise_nofile_limit(int wanted);
void tk_exit_quietly_on_fatal_signals(void);
void tk_return_large_blocks_to_the_kernel(void);
int tk_spawn_detached(const char *path, char *const argv[], char *const envp[], const char *stderr_path,
                      int32_t *pid_out);
int tk_spawn_reading_stdout(const char *path, char *const argv[], char *const envp[], int32_t *pid_out,
                            int *stdout_out);

enum {
    TK_EPOLL_ADD = 1, TK_EPOLL_DEL = 2, TK_EPOLL_MOD = 3,
    TK_EPOLLIN = 0x001, TK_EPOLLOUT = 0x004, TK_EPOLLERR = 0x008, TK_EPOLLHUP = 0x010, TK_EPOLLRDHUP = 0x2000,
    TK_SUN_PATH_MAX = 108,
};
#endif
