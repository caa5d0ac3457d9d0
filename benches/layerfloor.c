/* layerfloor: the spawn floor of a layered graph.
 * usage: layerfloor WIDTH LAYERS J CMD [ARG...]
 *   runs LAYERS layers of WIDTH commands, at most J at a time; a layer starts only when every
 *   command of the one before has ended (as when each task needs the whole previous layer);
 *   then one last command (the `final` task). posix_spawnp + waitpid(-1), as the harness's
 *   spawnfloor does, so the two differ only by the barriers.
 * exits 1 if any child fails.  build: cc -O2 -o layerfloor layerfloor.c */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;

static int run(long n, int j, char **cmd) {
  long started = 0, done = 0;
  int running = 0;
  while (done < n) {
    while (running < j && started < n) {
      pid_t pid;
      int e = posix_spawnp(&pid, cmd[0], NULL, NULL, cmd, environ);
      if (e) { fprintf(stderr, "posix_spawnp: %s\n", strerror(e)); return 1; }
      started++; running++;
    }
    int st;
    if (waitpid(-1, &st, 0) < 0) { perror("waitpid"); return 1; }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "child failed\n"); return 1; }
    running--; done++;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: %s WIDTH LAYERS J CMD [ARG...]\n", argv[0]); return 2; }
  long width = atol(argv[1]), layers = atol(argv[2]);
  int j = atoi(argv[3]);
  for (long l = 0; l < layers; l++)
    if (run(width, j, &argv[4])) return 1;
  return run(1, j, &argv[4]);
}
