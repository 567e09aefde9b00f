// The narration recorder: start and stop, a running timer, a live level meter, a warning after
// SILENT_S seconds of silence. Its events reach Python as trigger values: "started" when a
// recording begins (the page clears stale messages), "recording" with the finished audio
// (base64) when it stops. Bundled with the app: nothing is fetched from anywhere.
const SILENT_S = 5;
const SILENT_RMS = 0.01;  // below this the input is silence (speech is 0.05-0.3)

function pickType() {
  for (const type of ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"]) {
    if (window.MediaRecorder && MediaRecorder.isTypeSupported(type)) return type;
  }
  return "";
}

function clock(seconds) {
  const s = Math.floor(seconds);
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

export default function (component) {
  const { parentElement, setTriggerValue } = component;
  const $ = (selector) => parentElement.querySelector(selector);
  const button = $(".rec-button"), label = $(".rec-label"), time = $(".rec-time");
  const meter = $(".rec-meter"), level = $(".rec-level");
  const warning = $(".rec-warning"), error = $(".rec-error");
  let session = null;  // the recording under way: stream, recorder, audio graph, timers

  function say(element, text) {
    element.textContent = text || "";
    element.hidden = !text;
  }

  function show(recording) {
    button.dataset.state = recording ? "recording" : "idle";
    label.textContent = recording ? "Stop recording" : "Start recording";
  }

  function listen(s) {  // the meter, the timer and the silence watch, about 20 times a second
    const samples = new Float32Array(s.analyser.fftSize);
    let quietSince = performance.now();
    s.timer = setInterval(() => {
      s.analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const v of samples) sum += v * v;
      const rms = Math.sqrt(sum / samples.length);
      const percent = Math.min(100, Math.round(Math.sqrt(rms) * 160));
      level.style.width = percent + "%";
      meter.setAttribute("aria-valuenow", String(percent));
      const now = performance.now();
      time.textContent = clock((now - s.began) / 1000);
      if (rms >= SILENT_RMS) quietSince = now;
      const silent = (now - quietSince) / 1000 >= SILENT_S;
      if (silent !== !warning.hidden) {
        say(warning, silent ? "No sound for " + SILENT_S + " seconds. Is the microphone on, "
          + "unmuted and close to the speaker?" : "");
      }
    }, 50);
  }

  async function start() {
    say(error, "");
    say(warning, "");
    button.disabled = true;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const type = pickType();
      const recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
      const context = new AudioContext();
      const analyser = context.createAnalyser();
      analyser.fftSize = 2048;
      context.createMediaStreamSource(stream).connect(analyser);
      const chunks = [];  // kept by the handler itself: the last one comes after Stop
      session = { stream, recorder, context, analyser, chunks, began: performance.now() };
      recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
      recorder.start();  // one piece at Stop: only then does Chrome write the WebM's duration
      listen(session);
      show(true);
      setTriggerValue("started", Date.now());
    } catch (e) {
      say(error, e && e.name === "NotAllowedError"
        ? "The browser did not allow the microphone. Allow it (the icon in the address bar), "
          + "then press Start recording again."
        : "No microphone could be opened here. Connect one, or upload a recording instead.");
    } finally {
      button.disabled = false;
    }
  }

  function stop() {
    const s = session;
    session = null;
    clearInterval(s.timer);
    button.disabled = true;
    s.recorder.onstop = () => {
      const seconds = (performance.now() - s.began) / 1000;
      const blob = new Blob(s.chunks, { type: s.recorder.mimeType || "audio/webm" });
      s.stream.getTracks().forEach((track) => track.stop());
      s.context.close();
      const reader = new FileReader();
      reader.onload = () => {
        const [, base64] = String(reader.result).split(",", 2);
        setTriggerValue("recording", {
          id: String(Date.now()), mime: blob.type, seconds, audio: base64 || "",
        });
        button.disabled = false;
      };
      reader.readAsDataURL(blob);
    };
    s.recorder.stop();
    level.style.width = "0%";
    meter.setAttribute("aria-valuenow", "0");
    say(warning, "");
    show(false);
  }

  button.addEventListener("click", () => (session ? stop() : start()));
  return () => {  // the page left this step: let go of the microphone
    if (!session) return;
    clearInterval(session.timer);
    session.stream.getTracks().forEach((track) => track.stop());
    session.context.close();
    session = null;
  };
}
