# mk/js.mk - the JavaScript the slides, the flame graphs and the slides'
# check use (reveal.js, d3-flame-graph's template, playwright-core), from
# npm, pinned by js/package-lock.json. npm is asked to use only its
# cache first, so that after the first set-up nothing waits on the
# registry (a conference wifi, or none); only what is not cached yet is
# fetched.
JS_READY := js/node_modules/.installed
$(JS_READY): js/package.json js/package-lock.json | deps-slides
	@cd js && { npm ci --offline --no-audit --no-fund --no-update-notifier >npm.log 2>&1 \
	  || npm ci --prefer-offline --no-audit --no-fund --no-update-notifier >npm.log 2>&1; } \
	  || { cat npm.log; echo "npm: cannot install js/package-lock.json (no network, and not in npm's cache?)" >&2; exit 1; }
	@rm -f js/npm.log && touch $@
