# mk/deps.mk - the Debian packages each group of targets needs, installed
# by mk/deps.sh the first time a target asks (apt-get as root, sudo
# otherwise, or the exact command to run).

# deps-GROUP installs what a group of targets needs (mk/deps.sh lists them).
DEPS_GROUPS := build test bench profile perf fuzz slides web
.PHONY: deps $(addprefix deps-,$(DEPS_GROUPS))
$(addprefix deps-,$(DEPS_GROUPS)):
	@OUT=$(OUT) mk/deps.sh $(@:deps-%=%)
deps:
	@OUT=$(OUT) mk/deps.sh $(DEPS_GROUPS)

