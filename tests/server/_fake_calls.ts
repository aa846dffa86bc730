/** A grpc-js duplex call as pipelineProduce sees it: events, pause/resume, answers, end. */
import { EventEmitter } from "node:events";

export class FakeDuplex extends EventEmitter {
  readonly written: { offset: number; count: number }[] = [];
  paused = false;
  pauses = 0;
  ended = false;
  write(message: { offset: number; count: number }): boolean {
    this.written.push(message);
    return true;
  }
  pause() {
    this.paused = true;
    this.pauses++;
  }
  resume() {
    this.paused = false;
  }
  isPaused() {
    return this.paused;
  }
  end() {
    this.ended = true;
  }
}
