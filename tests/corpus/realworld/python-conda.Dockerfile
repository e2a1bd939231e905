FROM continuumio/miniconda3:latest

WORKDIR /opt/project
COPY environment.yml .
RUN conda env create -f environment.yml
RUN echo "source activate myenv" > ~/.bashrc
ENV PATH /opt/conda/envs/myenv/bin:$PATH
SHELL ["conda", "run", "-n", "myenv", "/bin/bash", "-c"]
COPY . .
RUN python -c "import numpy; print(numpy.__version__)"
ENTRYPOINT ["conda", "run", "--no-capture-output", "-n", "myenv", "python", "run.py"]
