"""The label-free STMap network (Li & Yin 2023): architecture, losses, views, inference."""

from pseudopulse.model.net import STMapNet, build_net, count_parameters
from pseudopulse.model.predictor import SHIPPED_WEIGHTS, ModelPredictor, load_predictor

__all__ = ["STMapNet", "build_net", "count_parameters", "ModelPredictor", "load_predictor", "SHIPPED_WEIGHTS"]
