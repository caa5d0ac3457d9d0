complete --keep-order --exclusive --command runner --arguments "(COMPLETE=fish runner -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
