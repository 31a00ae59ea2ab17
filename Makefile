# Serverless AI lab. `make lab` runs the whole lab locally; `make test` runs every test.
# Everything runs from the virtual environment in .venv, created on first use.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# make lab runs the reference solution; run your own code with `make lab LAB_CODE=exercises`.
LAB_CODE ?= lab_solution
export LAB_CODE

# Test workers: the suite's long runs (every notebook, the edit loop, the mutants) mostly wait on
# containers and child processes, so three workers keep two cores busy.
TEST_WORKERS ?= 3

.PHONY: lab test test-fast lint venv docker cloud-up cloud-down cloud-status cloud-bench grade-class-bench gradescope exercises notebooks clean

lab: venv docker cloud-up  ## run every step on the local target and print the grading report
	$(PY) scripts/run_lab.py

test: venv docker lint  ## every test: unit, grader, stand-in, Docker, and every notebook once (what CI runs)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile tests $(PYTEST_ARGS)

test-fast: venv lint  ## lint, generated files, unit and grader-logic tests: a developer's edit loop
	$(PY) -m pytest -n 2 -m "not integration and not docker" tests $(PYTEST_ARGS)

lint: venv  ## ruff, the generated exercises/ up to date, the notebooks their Bengali rendering without outputs
	$(VENV)/bin/ruff check .
	$(PY) scripts/make_exercises.py --check
	$(PY) scripts/render_notebooks.py --check

venv: $(VENV)/.installed  ## create .venv and install the pinned requirements

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

docker: venv  ## a Docker engine, the Lambda and Cloud Run base images and the grader's sandbox image (host mode when there is no engine)
	@status=0; scripts/ensure-docker.sh || status=$$?; \
	if [ $$status -eq 0 ]; then docker/lambda-base/build.sh && docker/cloudrun/build-base.sh && \
		$(PY) -c "from checks.sandbox import container; container.ensure_sandbox_image() or exit('the grader sandbox image did not build')"; \
	elif [ $$status -ne 3 ]; then exit $$status; fi

cloud-up: venv  ## start the local AWS stand-in on 127.0.0.1:4566
	$(PY) -m localcloud up

cloud-down:  ## stop the local AWS stand-in and remove what it started
	$(PY) -m localcloud down

cloud-status:  ## the stand-in's mode, components and per-function counters
	$(PY) -m localcloud status

cloud-bench: venv docker  ## measure the stand-in's overhead over a direct RIE call, and its cold starts (a few minutes)
	$(PY) -m localcloud.bench

grade-class-bench: venv  ## throughput of `python -m checks class` on a generated class of 30, both modes (many minutes)
	$(PY) scripts/grade_class_bench.py

gradescope: venv  ## build/gradescope-autograder.zip: Gradescope's autograder (upload it as the assignment's autograder)
	$(PY) -m checks gradescope-bundle build/gradescope-autograder.zip

exercises: venv  ## regenerate exercises/ from lab_solution/ (maintainers)
	$(PY) scripts/make_exercises.py

notebooks: venv  ## render the notebooks from notebooks/text/ in LAB_LANG (Bengali by default), without outputs (maintainers; `make lab` writes executed copies to build/)
	$(PY) scripts/render_notebooks.py --strip

clean: cloud-down  ## remove what the lab built locally: build/, the stand-in's state, the lab's image tags
	rm -rf build .localcloud
	-docker image rm serverless-iris:latest serverless-iris:onnx 127.0.0.1:4566/serverless-iris:latest \
		serverless-iris-cloudrun:latest \
		127.0.0.1:4566/asia-south1-docker.pkg.dev/serverless-iris-local/serverless-iris/serverless-iris:latest 2>/dev/null
