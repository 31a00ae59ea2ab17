# Serverless AI lab. `make lab` runs the whole lab locally; `make test` runs every test.
# Everything runs from the virtual environment in .venv, created on first use.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# make lab runs the reference solution; run your own code with `make lab LAB_CODE=exercises`.
LAB_CODE ?= lab_solution
export LAB_CODE

.PHONY: lab test venv docker cloud-up cloud-down cloud-status cloud-bench exercises notebooks clean

lab: venv docker cloud-up  ## run every step on the local target and print the grading report
	$(PY) scripts/run_lab.py

test: venv docker cloud-up  ## lint, unit, integration and notebook tests (what CI runs)
	$(VENV)/bin/ruff check .
	$(PY) scripts/make_exercises.py --check
	LAB_CODE=lab_solution $(PY) -m pytest tests notebooks --nbval --nbval-current-env \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg $(PYTEST_ARGS)

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
		$(PY) -c "from checks import container; container.ensure_sandbox_image() or exit('the grader sandbox image did not build')"; \
	elif [ $$status -ne 3 ]; then exit $$status; fi

cloud-up: venv  ## start the local AWS stand-in on 127.0.0.1:4566
	$(PY) -m localcloud up

cloud-down:  ## stop the local AWS stand-in and remove what it started
	$(PY) -m localcloud down

cloud-status:  ## the stand-in's mode, components and per-function counters
	$(PY) -m localcloud status

cloud-bench: venv docker  ## measure the stand-in's overhead over a direct RIE call, and its cold starts (a few minutes)
	$(PY) -m localcloud.bench

exercises: venv  ## regenerate exercises/ from lab_solution/ (maintainers)
	$(PY) scripts/make_exercises.py

notebooks: venv docker cloud-up  ## re-run the notebooks in place with the reference solution (maintainers)
	LAB_CODE=lab_solution $(PY) scripts/run_lab.py --refresh-notebooks

clean: cloud-down  ## remove what the lab built locally: build/, the stand-in's state, the lab's image tags
	rm -rf build .localcloud
	-docker image rm serverless-iris:latest serverless-iris:onnx 127.0.0.1:4566/serverless-iris:latest \
		serverless-iris-cloudrun:latest \
		127.0.0.1:4566/asia-south1-docker.pkg.dev/serverless-iris-local/serverless-iris/serverless-iris:latest 2>/dev/null
