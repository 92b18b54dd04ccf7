// The mnist-gan page: every image comes from this server's API; nothing is loaded elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_SEED = 2147483647;
let models = [];
let walk = null; // {frames, steps}
let playing = null;

function current() {
  return models.find((m) => m.name === $("model").value);
}

function query(extra) {
  const m = current();
  const params = new URLSearchParams({ model: m.name, ...extra });
  if (m.conditional && $("label").value !== "") params.set("label", $("label").value);
  return params;
}

function describe(m) {
  const parts = [`${m.preset} design, trained on ${m.data.name || "unrecorded data"}`];
  if (m.scores.frechet_distance !== undefined) {
    parts.push(`Fréchet distance ${m.scores.frechet_distance.toFixed(2)}`);
  }
  if (m.scores.label_accuracy !== undefined) {
    parts.push(`right class ${(100 * m.scores.label_accuracy).toFixed(1)} %`);
  }
  parts.push(m.conditional ? `${m.classes.length} classes` : "no class to choose");
  return parts.join(" · ");
}

function showModel() {
  const m = current();
  $("about").textContent = describe(m);
  const select = $("label");
  select.replaceChildren();
  $("label-row").hidden = !m.conditional;
  if (m.conditional) {
    select.append(new Option("every class", ""));
    m.classes.forEach((name) => select.append(new Option(name, name)));
  }
  refresh();
}

function valid() {
  const n = Number($("count").value);
  const seed = Number($("seed").value);
  if (!Number.isInteger(n) || n < 1 || n > 1024) return "Images: a whole number from 1 to 1,024.";
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    return "Seed: a whole number from 0 to 2,147,483,647.";
  }
  return "";
}

async function refresh() {
  const problem = valid();
  $("error").textContent = problem;
  if (problem) return;
  const n = Number($("count").value);
  const seed = $("seed").value;
  const pngUrl = `api/sample?${query({ n, seed, format: "png" })}`;
  const grid = $("grid");
  const response = await fetch(pngUrl);
  if (!response.ok) {
    $("error").textContent = (await response.json()).detail;
    return;
  }
  const blob = await response.blob();
  const old = grid.src;
  grid.src = URL.createObjectURL(blob);
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
  grid.dataset.url = pngUrl;
  const label = current().conditional && $("label").value ? `, class ${$("label").value}` : "";
  $("grid-caption").textContent = `${n} image(s) from ${current().name}, seed ${seed}${label}`;
  const chosen = current().conditional ? $("label").value : "";
  const stem = `${current().name}-seed${seed}${chosen ? `-${chosen}` : ""}`; // as the server names it
  $("download-png").href = pngUrl;
  $("download-png").download = `${stem}.png`;
  $("download-npy").href = `api/sample?${query({ n, seed, format: "npy" })}`;
  $("download-npy").download = `${stem}.npy`;
  loadWalk();
}

async function loadWalk() {
  const steps = 16;
  const params = query({ seed: $("seed").value, to_seed: $("to-seed").value, steps, format: "json" });
  const response = await fetch(`api/interpolate?${params}`);
  if (!response.ok) {
    $("error").textContent = (await response.json()).detail;
    return;
  }
  walk = await response.json();
  $("frame").max = String(walk.images.length - 1);
  drawFrame(Number($("frame").value));
}

function drawFrame(index) {
  if (!walk) return;
  const frame = walk.images[Math.min(index, walk.images.length - 1)];
  const canvas = $("walk");
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(28, 28);
  frame.flat().forEach((value, i) => {
    pixels.data.set([value, value, value, 255], 4 * i);
  });
  const scratch = document.createElement("canvas");
  scratch.width = scratch.height = 28;
  scratch.getContext("2d").putImageData(pixels, 0, 0);
  context.imageSmoothingEnabled = false;
  context.drawImage(scratch, 0, 0, canvas.width, canvas.height);
}

function togglePlay() {
  const button = $("play");
  if (playing) {
    clearInterval(playing);
    playing = null;
  } else {
    playing = setInterval(() => {
      const slider = $("frame");
      slider.value = String((Number(slider.value) + 1) % (Number(slider.max) + 1));
      drawFrame(Number(slider.value));
    }, 150);
  }
  button.textContent = playing ? "Pause" : "Play";
  button.setAttribute("aria-pressed", String(Boolean(playing)));
}

async function start() {
  const response = await fetch("api/models");
  models = (await response.json()).models;
  const select = $("model");
  models.forEach((m) => select.append(new Option(m.name, m.name)));
  const preferred = models.find((m) => m.conditional) || models[0];
  select.value = preferred.name;
  select.addEventListener("change", showModel);
  $("label").addEventListener("change", refresh);
  $("count").addEventListener("change", refresh);
  $("seed").addEventListener("change", refresh);
  $("to-seed").addEventListener("change", loadWalk);
  $("new-seed").addEventListener("click", () => {
    $("seed").value = String(Math.floor(Math.random() * MAX_SEED));
    refresh();
  });
  $("frame").addEventListener("input", () => drawFrame(Number($("frame").value)));
  $("play").addEventListener("click", togglePlay);
  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  showModel();
}

start();
