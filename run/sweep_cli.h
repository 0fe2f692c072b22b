/* sweep_cli.h - the sweep and merge verbs (run/cmd_sweep.c). */
#ifndef FS_SWEEP_CLI_H
#define FS_SWEEP_CLI_H

int cmd_sweep(int argc, char **argv);
int cmd_merge(int argc, char **argv);

#endif
