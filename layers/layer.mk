# The recipe every layer's Makefile shares (`BuildMethod: makefile`, ADR 0012). `sam build` copies the
# layer folder to a scratch directory, runs `make -f <this folder>/Makefile build-<LogicalId>` there
# with ARTIFACTS_DIR set, and zips ARTIFACTS_DIR: tools/layer_build.py fills ARTIFACTS_DIR/python with
# the pinned distributions for python3.12 aarch64, prunes what the code never loads and compiles the
# bytecode with the python3.12 it runs on (PYTHON312 to use another).
LAYER_FOLDER := $(abspath $(dir $(firstword $(MAKEFILE_LIST))))
REPOSITORY := $(abspath $(LAYER_FOLDER)/../..)
PYTHON312 ?= python3.12
BUILD_LAYER = $(PYTHON312) $(REPOSITORY)/tools/layer_build.py $(LAYER_FOLDER) "$(ARTIFACTS_DIR)"
