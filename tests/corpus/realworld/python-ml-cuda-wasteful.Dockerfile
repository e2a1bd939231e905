FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04
RUN apt-get update && apt-get install -y python3 python3-pip git wget
RUN pip3 install torch torchvision torchaudio
RUN pip3 install transformers datasets accelerate
COPY . /workspace
WORKDIR /workspace
RUN pip3 install -r requirements.txt
RUN wget https://example.com/model.bin -O /workspace/model.bin
RUN python3 -c "import torch; print(torch.cuda.is_available())"
CMD ["python3", "train.py"]
